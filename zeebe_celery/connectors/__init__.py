"""Connectors in the style of the Python Camunda SDK, running on the bridge.

- :mod:`~zeebe_celery.connectors.outbound`: outbound connectors, registered as ``@zeebe_task`` job types;
- :mod:`~zeebe_celery.connectors.results`: the ``resultVariable`` / ``resultExpression`` convention;
- :mod:`~zeebe_celery.connectors.templates`: Camunda Modeler element templates;
- :mod:`~zeebe_celery.connectors.inbound`: inbound connectors, activated by a service task, publishing a message;
- :mod:`~zeebe_celery.connectors.runtime`: :class:`CamundaRuntime`, the connectors without Celery.
"""

from zeebe_celery.connectors import fleet as _fleet  # noqa: F401 - registers the Celery side of inbound connectors
from zeebe_celery.connectors.config import RunConfig
from zeebe_celery.connectors.inbound import InboundConnector
from zeebe_celery.connectors.outbound import OutboundConnector, outbound_connector
from zeebe_celery.connectors.runtime import CamundaRuntime

__all__ = ["CamundaRuntime", "InboundConnector", "OutboundConnector", "RunConfig", "outbound_connector"]
