"""The gateway commands for scripts: deploy, create-instance, publish, broadcast-signal, cancel, status."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zeebe_celery.cli.options import VARIABLES_HELP, duration, gateway_client, int_at_least, read_variables
from zeebe_celery.cli.output import CliError, ExitCode, Output, asdict, table
from zeebe_celery.errors import DeadlineExceededError

if TYPE_CHECKING:
    from zeebe_celery.cli.commands import Commands

__all__ = [
    "cmd_broadcast_signal",
    "cmd_cancel",
    "cmd_create_instance",
    "cmd_deploy",
    "cmd_publish",
    "cmd_status",
    "register",
]


def cmd_deploy(args: argparse.Namespace, out: Output) -> ExitCode:
    resources: list[tuple[str, bytes]] = []
    for name in args.files:
        path = Path(name).expanduser()
        try:
            resources.append((path.name, path.read_bytes()))
        except FileNotFoundError:
            raise CliError(f"no such file: {path}", ExitCode.NOINPUT) from None
        except IsADirectoryError:
            raise CliError(f"{path} is a directory; name the .bpmn, .dmn or .form files", ExitCode.NOINPUT) from None
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}", ExitCode.NOINPUT) from None
    with gateway_client(args) as client:
        deployment = client.deploy_resource(*resources, tenant_id=args.tenant_id)
    lines = [f"deployment {deployment.key}"]
    lines += [
        f"process {p.bpmn_process_id} version {p.version} key {p.process_definition_key} ({p.resource_name})"
        for p in deployment.processes
    ]
    lines += [
        f"decision requirements {r.decision_requirements_id} version {r.version} key {r.decision_requirements_key}"
        f" ({r.resource_name})"
        for r in deployment.decision_requirements
    ]
    lines += [f"decision {d.decision_id} version {d.version} key {d.decision_key}" for d in deployment.decisions]
    lines += [f"form {f.form_id} version {f.version} key {f.form_key} ({f.resource_name})" for f in deployment.forms]
    out.result(asdict(deployment), "\n".join(lines))
    return ExitCode.OK


def cmd_create_instance(args: argparse.Namespace, out: Output) -> ExitCode:
    variables = read_variables(args.variables)
    options: dict[str, Any] = {
        "version": args.version,
        "variables": variables,
        "tenant_id": args.tenant_id,
        "tags": args.tags,
        "business_id": args.business_id,
    }
    with gateway_client(args) as client:
        if args.with_result:
            try:
                result: Any = client.create_process_instance_with_result(
                    args.process_id, request_timeout=args.request_timeout, **options
                )
            except DeadlineExceededError:
                raise CliError(
                    f"the instance of {args.process_id} did not complete within {args.request_timeout:g}s "
                    "(--request-timeout); it may still be running",
                    ExitCode.TEMPFAIL,
                ) from None
        else:
            result = client.create_process_instance(args.process_id, **options)
    text = (
        f"instance {result.process_instance_key} of {result.bpmn_process_id} version {result.version}"
        f" (process definition {result.process_definition_key})"
    )
    if args.with_result:
        text += f" completed\nvariables: {json.dumps(result.variables, sort_keys=True)}"
    else:
        text += " created"
    out.result(asdict(result), text)
    return ExitCode.OK


def cmd_publish(args: argparse.Namespace, out: Output) -> ExitCode:
    variables = read_variables(args.variables)
    with gateway_client(args) as client:
        message = client.publish_message(
            args.name,
            correlation_key=args.correlation_key,
            variables=variables,
            time_to_live=args.ttl,
            message_id=args.message_id,
            tenant_id=args.tenant_id,
        )
    document = {"name": args.name, "correlation_key": args.correlation_key, **asdict(message)}
    out.result(document, f"message {args.name} published, key {message.key}")
    return ExitCode.OK


def cmd_broadcast_signal(args: argparse.Namespace, out: Output) -> ExitCode:
    variables = read_variables(args.variables)
    with gateway_client(args) as client:
        sent = client.broadcast_signal(args.name, variables=variables, tenant_id=args.tenant_id)
    out.result({"name": args.name, **asdict(sent)}, f"signal {args.name} broadcast, key {sent.key}")
    return ExitCode.OK


def cmd_cancel(args: argparse.Namespace, out: Output) -> ExitCode:
    with gateway_client(args) as client:
        client.cancel_process_instance(args.key)
    out.result({"process_instance_key": args.key, "cancelled": True}, f"instance {args.key} cancelled")
    return ExitCode.OK


def cmd_status(args: argparse.Namespace, out: Output) -> ExitCode:
    with gateway_client(args) as client:
        topology = client.topology()
    rows = [
        ["Cluster size", str(topology.cluster_size)],
        ["Partitions", str(topology.partitions_count)],
        ["Replication factor", str(topology.replication_factor)],
        ["Gateway version", topology.gateway_version],
    ]
    lines = [table(rows), ""]
    for broker in sorted(topology.brokers, key=lambda b: b.node_id):
        lines.append(f"Broker {broker.node_id}  {broker.host}:{broker.port}  version {broker.version}")
        partitions = sorted(broker.partitions, key=lambda p: p.partition_id)
        if partitions:
            shown = table([[f"Partition {p.partition_id}", p.role.name, p.health.name] for p in partitions])
            lines += ["  " + line for line in shown.splitlines()]
    document = {**asdict(topology), "healthy": topology.is_healthy}
    out.result(document, "\n".join(lines))
    if not topology.is_healthy:
        out.note("not every partition has a healthy leader")
        return ExitCode.UNAVAILABLE
    return ExitCode.OK


def register(commands: Commands) -> None:
    p = commands.add(
        "deploy",
        cmd_deploy,
        help="deploy BPMN, DMN and form files",
        description="Deploy the files in one atomic deployment and print what was created: processes with\n"
        "their versions and keys, decisions and decision requirements, forms.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="a .bpmn, .dmn or .form file")
    p.add_argument("--tenant-id", metavar="ID", help="deploy for this tenant (multi-tenancy only)")

    p = commands.add(
        "create-instance",
        cmd_create_instance,
        help="start a process instance",
        description="Start an instance of the latest version of a process (or --version N) and print its key.\n"
        "With --with-result, wait for it to complete and print its variables.",
    )
    p.add_argument("process_id", metavar="ID", help="the BPMN process id")
    p.add_argument("--variables", metavar="JSON|@FILE", help=VARIABLES_HELP)
    p.add_argument("--version", type=int_at_least(1), default=-1, metavar="N", help="this version (default: latest)")
    p.add_argument("--with-result", action="store_true", help="wait for the instance to complete; print its variables")
    p.add_argument(
        "--request-timeout",
        type=duration,
        default=60.0,
        metavar="DURATION",
        help="with --with-result, how long to wait, e.g. 30s or 2m (default 60s)",
    )
    p.add_argument("--tenant-id", metavar="ID", help="the tenant (multi-tenancy only)")
    p.add_argument(
        "--tag",
        dest="tags",
        action="append",
        default=[],
        metavar="TAG",
        help="attach this tag to the instance; repeat for more (Camunda 8.8+)",
    )
    p.add_argument(
        "--business-id",
        metavar="ID",
        help="the instance's business id, unique among active instances if the cluster enforces it (8.9+)",
    )

    p = commands.add(
        "publish",
        cmd_publish,
        help="publish a message",
        description="Publish a message for a subscription with the same correlation key; it waits --ttl for\n"
        "one to appear.",
    )
    p.add_argument("name", metavar="MESSAGE", help="the message name")
    p.add_argument(
        "--correlation-key",
        default="",
        metavar="K",
        help="matched against the subscription's correlation key (empty for message start events)",
    )
    p.add_argument("--variables", metavar="JSON|@FILE", help=VARIABLES_HELP)
    p.add_argument("--ttl", type=duration, default=0.0, metavar="DURATION", help="time to live, e.g. 1m (default 0)")
    p.add_argument("--message-id", default="", metavar="ID", help="a unique id; a second message with it is refused")
    p.add_argument("--tenant-id", metavar="ID", help="the tenant (multi-tenancy only)")

    p = commands.add(
        "broadcast-signal",
        cmd_broadcast_signal,
        help="broadcast a signal",
        description="Broadcast a signal to every signal event waiting for NAME.",
    )
    p.add_argument("name", metavar="NAME", help="the signal name")
    p.add_argument("--variables", metavar="JSON|@FILE", help=VARIABLES_HELP)
    p.add_argument("--tenant-id", metavar="ID", help="the tenant (multi-tenancy only)")

    p = commands.add(
        "cancel",
        cmd_cancel,
        help="cancel a process instance",
        description="Cancel a running process instance by its key.",
    )
    p.add_argument("key", type=int_at_least(1), metavar="KEY", help="the process instance key")

    commands.add(
        "status",
        cmd_status,
        help="show the cluster topology",
        description="Show the cluster as the gateway sees it: size, partitions, replication factor, gateway\n"
        "version, then each broker with its address, version and the role and health of each\n"
        "partition. Exits 69 when a partition has no healthy leader.",
    )
