"""``zeebe-celery poller`` and ``worker-types``: the commands that load the user's Celery app."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.app.utils import find_app

from zeebe_celery._version import __version__
from zeebe_celery.broker import check_broker
from zeebe_celery.cli.options import int_at_least, names, port, zeebe_settings
from zeebe_celery.cli.output import CliError, ExitCode, Output, one_line, table
from zeebe_celery.config import BridgeSettings, broker_url, flow_control_redis, load_settings
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.logs import setup_logging
from zeebe_celery.poller import Poller
from zeebe_celery.redis_location import RedisLocation, refuse_a_cluster
from zeebe_celery.spec import resolve, zeebe_task_specs

if TYPE_CHECKING:
    from zeebe_celery.cli.commands import Commands

__all__ = ["cmd_poller", "cmd_worker_types", "flow_control_location", "load_app", "register"]

logger = logging.getLogger(__name__)


def load_app(spec: str) -> Celery:
    """Load a Celery app the way ``celery -A`` does: ``module``, ``package`` or ``module:attribute``.

    The current directory is importable. Raises CliError: USAGE when the name leads nowhere,
    SOFTWARE when importing the module fails.
    """
    module_name, _, attribute = spec.partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        if attribute:
            found = importlib.import_module(module_name)
            for name in attribute.split("."):
                found = getattr(found, name)
        else:
            found = find_app(spec)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise CliError(f"-A {spec}: no module named {exc.name!r}", ExitCode.USAGE) from None
        raise CliError(f"-A {spec}: importing the app failed: {exc}", ExitCode.SOFTWARE) from None
    except AttributeError as exc:
        hint = "" if attribute else "; name it as module:attribute"
        raise CliError(f"-A {spec}: no Celery app found ({exc}){hint}", ExitCode.USAGE) from None
    except Exception as exc:  # noqa: BLE001 - the user's module may raise anything while importing
        raise CliError(
            f"-A {spec}: importing the app failed: {type(exc).__name__}: {one_line(str(exc))}", ExitCode.SOFTWARE
        ) from None
    if not isinstance(found, Celery):
        raise CliError(f"-A {spec}: {type(found).__name__} object is not a Celery app", ExitCode.USAGE)
    return found


def flow_control_location(bridge: BridgeSettings, app: Celery) -> RedisLocation:
    """The Redis of the in-flight sets: ZEEBE_CELERY_REDIS_URL, else the (Redis) Celery broker."""
    location = flow_control_redis(bridge, app)
    if location is not None:
        return location
    broker = broker_url(bridge, app)
    shown = broker.split("://", 1)[0] + "://..." if "://" in broker else (broker or "none")
    raise ConfigurationError(
        f"ZEEBE_CELERY_REDIS_URL: flow control needs Redis, and the Celery broker ({shown}) is not Redis; set it"
    )


def cmd_poller(args: argparse.Namespace, out: Output) -> ExitCode:
    overrides: dict[str, Any] = {
        "stream": args.stream,
        "http_port": args.http_port,
        "http_host": args.http_host,
        "max_jobs": args.max_jobs,
        "log_format": args.log_format,
        "log_level": args.log_level,
    }
    bridge = load_settings(BridgeSettings, **{k: v for k, v in overrides.items() if v is not None})
    try:
        setup_logging(bridge.log_level, bridge.log_format, stream=out.stderr)
    except ValueError as exc:
        raise CliError(f"ZEEBE_CELERY_LOG_LEVEL (--log-level): {exc}", ExitCode.CONFIG) from None
    app = load_app(args.app)
    if bridge.broker_url:
        # The bridge's broker setting wins over the app's own, for publishing too.
        app.conf.broker_url = bridge.broker_url
    check_broker(bridge, app)
    settings = zeebe_settings(args)
    location = flow_control_location(bridge, app)
    refuse_a_cluster(location)
    inflight = InflightStore.from_url(location)
    client = ZeebeClient(settings)
    poller = Poller(app, client=client, bridge=bridge, inflight=inflight, types=args.types)
    logger.info("zeebe-celery %s poller for %s, gateway %s", __version__, args.app, settings.gateway_address)
    try:
        poller.run()
    except OSError as exc:
        what = f"cannot serve on {bridge.http_host}:{bridge.http_port}" if bridge.http_port is not None else "failed"
        raise CliError(f"{what}: {exc.strerror or exc}", ExitCode.OSERR) from None
    finally:
        client.close()
        inflight.close()
    out.result({"status": "stopped", "types": sorted(poller.specs)}, "")
    return ExitCode.OK


def cmd_worker_types(args: argparse.Namespace, out: Output) -> ExitCode:
    bridge = load_settings(BridgeSettings)
    app = load_app(args.app)
    settled = sorted(resolve(zeebe_task_specs(app), bridge).values(), key=lambda s: s.job_type)
    entries = [
        {
            "job_type": spec.job_type,
            "task": spec.task_name,
            "queue": spec.queue,
            "timeout": spec.timeout,
            "max_jobs": spec.max_jobs,
            "fetch_variables": list(spec.fetch_variables) if spec.fetch_variables is not None else None,
            "retry_backoff": spec.retry_backoff,
            "tenant_ids": list(spec.tenant_ids),
            "tenant_filter": spec.tenant_filter,
        }
        for spec in settled
    ]
    if not entries:
        out.note(f"the app {args.app} has no @zeebe_task handlers")
        out.result(entries, "")
        return ExitCode.OK
    rows = [["JOB TYPE", "TASK", "QUEUE", "TIMEOUT", "MAX JOBS", "FETCH VARIABLES"]]
    for spec in settled:
        fetch = spec.fetch_variables
        rows.append(
            [
                spec.job_type,
                spec.task_name,
                spec.queue,
                f"{spec.timeout:g}s",
                str(spec.max_jobs),
                "(all)" if fetch is None else (",".join(fetch) or "(none)"),
            ]
        )
    out.result(entries, table(rows))
    return ExitCode.OK


def register(commands: Commands) -> None:
    p = commands.add(
        "poller",
        cmd_poller,
        help="activate jobs from Zeebe and publish them to Celery (runs until SIGTERM)",
        description="Activate the jobs of the app's @zeebe_task types and publish each to its Celery queue\n"
        "(zeebe.<type> unless the handler names one), never more than the workers can take.\n"
        "Runs until SIGTERM or SIGINT, then hands back what it holds and exits 0.\n"
        "Options override the ZEEBE_CELERY_* variable of the same name.",
    )
    p.add_argument(
        "-A", "--app", required=True, metavar="APP", help="the Celery app, as for `celery -A`: module or module:attr"
    )
    p.add_argument(
        "--types",
        type=names,
        action="extend",
        metavar="T,...",
        help="poll only these job types (comma-separated; default: every @zeebe_task type of the app)",
    )
    p.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also take jobs pushed over StreamActivatedJobs ($ZEEBE_CELERY_STREAM)",
    )
    p.add_argument(
        "--http-port", type=port, metavar="N", help="serve /healthz and /metrics on port N ($ZEEBE_CELERY_HTTP_PORT)"
    )
    p.add_argument(
        "--http-host",
        metavar="ADDRESS",
        help="... on this address (default 127.0.0.1; 0.0.0.0 for probes from outside a container, "
        "$ZEEBE_CELERY_HTTP_HOST)",
    )
    p.add_argument(
        "--max-jobs",
        type=int_at_least(1),
        metavar="N",
        help="per job type, at most N jobs queued or running (default 32, $ZEEBE_CELERY_MAX_JOBS)",
    )
    p.add_argument(
        "--log-format", choices=("text", "json"), help="log as text or JSON lines ($ZEEBE_CELERY_LOG_FORMAT)"
    )
    p.add_argument(
        "--log-level", metavar="LEVEL", help="DEBUG, INFO (default), WARNING, ERROR ($ZEEBE_CELERY_LOG_LEVEL)"
    )

    p = commands.add(
        "worker-types",
        cmd_worker_types,
        help="list the app's job types with their tasks and queues",
        description="List the job types the app's @zeebe_task handlers take, with the Celery task, the queue\n"
        "workers must consume (celery -A APP worker -Q QUEUE), the job timeout, the in-flight bound\n"
        "and the variables fetched.",
    )
    p.add_argument(
        "-A", "--app", required=True, metavar="APP", help="the Celery app, as for `celery -A`: module or module:attr"
    )
