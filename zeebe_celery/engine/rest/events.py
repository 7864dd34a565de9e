"""Messages (publication and correlation) and signal broadcast."""

from __future__ import annotations

from zeebe_celery.engine.rest.call import Answer, Call, Route
from zeebe_celery.engine.state import DEFAULT_TENANT

__all__ = ["ROUTES"]


def publish(call: Call) -> Answer:
    body = call.body()
    name = body.text("name", required=True)
    correlation_key, message_id = body.text("correlationKey"), body.text("messageId")
    ttl = body.duration("timeToLive", 0, minimum=0)
    tenant_id, variables = body.text("tenantId") or DEFAULT_TENANT, body.variables()
    message = call.run(
        lambda runtime: runtime.publish_message(
            name,
            correlation_key=correlation_key,
            ttl=ttl,
            message_id=message_id,
            variables=variables,
            tenant_id=tenant_id,
        )
    )
    return 200, {"tenantId": message.tenant_id, "messageKey": str(message.key)}


def correlate(call: Call) -> Answer:
    body = call.body()
    name = body.text("name", required=True)
    correlation_key = body.text("correlationKey")
    tenant_id, variables = body.text("tenantId") or DEFAULT_TENANT, body.variables()
    message, instance_key = call.run(
        lambda runtime: runtime.correlate_message(
            name, correlation_key=correlation_key, variables=variables, tenant_id=tenant_id
        )
    )
    return 200, {"tenantId": message.tenant_id, "messageKey": str(message.key), "processInstanceKey": str(instance_key)}


def broadcast(call: Call) -> Answer:
    body = call.body()
    name = body.text("signalName", required=True)
    tenant_id, variables = body.text("tenantId") or DEFAULT_TENANT, body.variables()
    key = call.run(lambda runtime: runtime.broadcast_signal(name, variables=variables, tenant_id=tenant_id))
    return 200, {"tenantId": tenant_id, "signalKey": str(key)}


ROUTES = [
    Route.of("POST", "/messages/publication", publish, "PublishMessage"),
    Route.of("POST", "/messages/correlation", correlate, "PublishMessage"),
    Route.of("POST", "/signals/broadcast", broadcast, "BroadcastSignal"),
]
