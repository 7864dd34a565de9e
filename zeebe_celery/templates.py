"""Camunda Modeler element templates: ``element_template(obj)`` for a connector or a ``@zeebe_task``."""

from zeebe_celery.connectors.templates import app_templates, element_template, write_templates

__all__ = ["app_templates", "element_template", "write_templates"]
