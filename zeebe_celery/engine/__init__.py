"""An open-source, Zeebe-compatible engine for development and tests.

It speaks the Zeebe gateway protocol (gRPC), executes the Zeebe subset of BPMN with FEEL and DMN, and runs
with no Java and no Docker: ``zeebe-celery engine``, ``with ZeebeEngine() as engine``, or the pytest
fixture ``zeebe_engine``. Production runs on the user's own Camunda 8 cluster.
"""

from zeebe_celery.engine.engine import EngineStateError, ZeebeEngine

__all__ = ["EngineStateError", "ZeebeEngine"]
