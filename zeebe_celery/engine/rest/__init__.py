"""The engine's Orchestration Cluster REST API (v2): the wire apart from the state, as server.py is for
gRPC. Handlers decode a request, run a Runtime command (or read the searchable history the exported
records feed), and encode the answer or the API's problem document."""

from zeebe_celery.engine.rest.server import RestServer

__all__ = ["RestServer"]
