"""The engine's web UI: processes with their diagrams, instances, incidents and user tasks, as server-rendered
HTML (htmx, shipped in ``static/``, for the live parts), read through the inspection query layer and acted
on through the runtime's commands."""

from zeebe_celery.engine.web.app import COOKIE, WebUI

__all__ = ["COOKIE", "WebUI"]
