"""``zeebe-celery dead list|requeue|purge``: the poison messages workers set aside, and what to do with them."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import amqp
import kombu.exceptions
import redis

from zeebe_celery.broker import amqp_ssl, is_amqp_url
from zeebe_celery.cli.output import CliError, ExitCode, Output, one_line, table
from zeebe_celery.cli.poller import load_app
from zeebe_celery.config import BridgeSettings, broker_redis, broker_url, flow_control_redis, load_settings
from zeebe_celery.deadletter import DeadLetter, DeadLetters, dead_letter_list, select
from zeebe_celery.deadletter_amqp import AmqpRequeue
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.redis_location import RedisLocation, is_redis_url

if TYPE_CHECKING:
    from zeebe_celery.cli.commands import Commands

__all__ = ["cmd_dead_list", "cmd_dead_purge", "cmd_dead_requeue", "register"]

_REASON_WIDTH = 100
NOT_FOUND_ERRORS = (amqp.exceptions.NotFound,)
AMQP_ERRORS = (amqp.exceptions.AMQPError, amqp.exceptions.MessageNacked, kombu.exceptions.OperationalError)


@dataclass(frozen=True)
class _Where:
    """Where the dead-letter lists are, and the AMQP broker to requeue onto (None on a Redis broker)."""

    lists: RedisLocation
    amqp_url: str | None = None
    amqp_ssl: Any = None


def _where(args: argparse.Namespace) -> _Where:
    """The broker: --broker, else ZEEBE_CELERY_BROKER_URL, else the broker of -A's app. On Redis the lists are
    there; on AMQP (RabbitMQ) they are in flow control's Redis (ZEEBE_CELERY_REDIS_URL)."""
    bridge = load_settings(BridgeSettings, **({"broker_url": args.broker} if args.broker else {}))
    app = load_app(args.app) if args.app else None
    url = broker_url(bridge, app) if app is not None else bridge.broker_url or ""
    if not url:
        raise CliError("no broker: give --broker URL or -A APP, or set ZEEBE_CELERY_BROKER_URL", ExitCode.CONFIG)
    if is_amqp_url(url):
        lists = flow_control_redis(bridge, app) if app is not None else None
        if lists is None and bridge.redis_url:
            lists = RedisLocation(bridge.redis_url)
        if lists is None:
            raise CliError(
                "ZEEBE_CELERY_REDIS_URL: on an AMQP broker the dead-letter lists are in flow control's Redis; set it",
                ExitCode.CONFIG,
            )
        return _Where(lists, url, amqp_ssl(url, app.conf.broker_use_ssl if app is not None else None))
    if not is_redis_url(url):
        scheme = url.split("://", 1)[0]
        raise CliError(
            f"the dead-letter lists live on a Redis broker (or, for an AMQP one, in ZEEBE_CELERY_REDIS_URL), and "
            f"this one is {scheme}://",
            ExitCode.CONFIG,
        )
    located = broker_redis(bridge, app) if app is not None else None
    return _Where(located or RedisLocation(url, "ZEEBE_CELERY_BROKER_URL (--broker)"))


@contextlib.contextmanager
def _dead_letters(where: _Where) -> Iterator[DeadLetters]:
    try:
        letters = DeadLetters.from_url(where.lists)
    except ConfigurationError as exc:
        raise CliError(str(exc), ExitCode.CONFIG) from None
    try:
        yield letters
    except redis.AuthenticationError as exc:
        raise CliError(f"Redis refused the credentials: {exc}", ExitCode.NOPERM) from None
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise CliError(f"cannot reach Redis: {one_line(str(exc))}", ExitCode.UNAVAILABLE) from None
    finally:
        letters.close()


def cmd_dead_list(args: argparse.Namespace, out: Output) -> ExitCode:
    with _dead_letters(_where(args)) as store:
        queues = args.queues or store.queues()
        letters = [letter for queue in queues for letter in store.entries(queue)]
    rows = [["ID", "QUEUE", "DEAD AT", "KIND", "REASON"]]
    for letter in letters:
        reason = one_line(letter.reason)
        if len(reason) > _REASON_WIDTH:
            reason = reason[: _REASON_WIDTH - 1] + "…"
        rows.append([letter.id[:12] or "-", letter.queue, letter.dead_at or "-", letter.kind or "-", reason])
    text = table(rows) if letters else ""
    out.result([letter.summary() for letter in letters], text)
    if not out.json:
        out.note(f"{len(letters)} message(s) set aside in {', '.join(dead_letter_list(q) for q in queues) or 'none'}")
    return ExitCode.OK


def _chosen(store: DeadLetters, args: argparse.Namespace) -> list[DeadLetter]:
    letters = store.entries(args.queue)
    if args.all:
        return letters
    if not args.ids:
        raise CliError("name the messages by ID (see `zeebe-celery dead list`), or give --all", ExitCode.USAGE)
    chosen, unmatched = select(letters, args.ids)
    if unmatched:
        raise CliError(
            f"no single message set aside from {args.queue} has the id {', '.join(unmatched)}", ExitCode.NOINPUT
        )
    return chosen


def _requeue_on_amqp(
    requeue: AmqpRequeue, store: DeadLetters, queue: str, chosen: list[DeadLetter]
) -> tuple[list[DeadLetter], list[tuple[DeadLetter, str]]]:
    try:
        return requeue.requeue(store, queue, chosen)
    except NOT_FOUND_ERRORS as exc:
        raise CliError(
            f"the broker refused {queue}: {one_line(str(exc))} (the queue exists once a worker of it started)",
            ExitCode.UNAVAILABLE,
        ) from None
    except (OSError, *AMQP_ERRORS) as exc:
        raise CliError(
            "the broker did not take every message; those it did not confirm stay set aside (see `zeebe-celery dead "
            f"list`): {type(exc).__name__}: {one_line(str(exc))}",
            ExitCode.UNAVAILABLE,
        ) from None


def cmd_dead_requeue(args: argparse.Namespace, out: Output) -> ExitCode:
    where = _where(args)
    left: list[tuple[DeadLetter, str]] = []
    with _dead_letters(where) as store:
        chosen = _chosen(store, args)
        if where.amqp_url is None:
            moved = store.requeue(args.queue, chosen)
        else:
            requeue = AmqpRequeue(where.amqp_url, ssl=where.amqp_ssl)
            moved, left = _requeue_on_amqp(requeue, store, args.queue, chosen)
    out.result(
        {
            "queue": args.queue,
            "requeued": [letter.id for letter in moved],
            "left": [{"id": letter.id, "reason": reason} for letter, reason in left],
        },
        f"requeued {len(moved)} message(s) on {args.queue}",
    )
    for _, reason in left:
        out.note(f"left set aside: {reason}")
    return ExitCode.OK if not left else ExitCode.DATAERR


def cmd_dead_purge(args: argparse.Namespace, out: Output) -> ExitCode:
    with _dead_letters(_where(args)) as store:
        purged = store.purge(args.queue, _chosen(store, args))
    out.result(
        {"queue": args.queue, "purged": [letter.id for letter in purged]},
        f"purged {len(purged)} message(s) from {dead_letter_list(args.queue)}",
    )
    return ExitCode.OK


def _broker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        metavar="URL",
        help="the broker of the queues, Redis or AMQP (default $ZEEBE_CELERY_BROKER_URL); on AMQP the lists are "
        "in $ZEEBE_CELERY_REDIS_URL",
    )
    parser.add_argument(
        "-A", "--app", metavar="APP", help="or the Celery app whose broker it is (module or module:attr)"
    )


def _selection(parser: argparse.ArgumentParser, verb: str) -> None:
    parser.add_argument("queue", metavar="QUEUE", help="the queue the messages were taken from, e.g. zeebe.charge-card")
    parser.add_argument("ids", nargs="*", metavar="ID", help=f"the messages to {verb}, by id (a unique prefix will do)")
    parser.add_argument("--all", action="store_true", help=f"{verb} every message set aside from QUEUE")


def register(commands: Commands) -> None:
    _, dead = commands.group(
        "dead",
        help="list, requeue or purge the poison messages workers set aside",
        description="A message on a bridge queue that a worker cannot take (not JSON, the wrong shape, a bad\n"
        "header, an unknown task, pickle) is set aside on the list <queue>.dead with the reason.\n"
        "These commands show those lists and act on them.",
        metavar="{list,requeue,purge}",
    )
    p = dead.add(
        "list",
        cmd_dead_list,
        help="show the messages set aside, with why",
        description="Show the messages set aside from QUEUE (default: every queue that has some), oldest\n"
        "first, with their id, when and why. --output json includes each message as it was.",
    )
    p.add_argument("queues", nargs="*", metavar="QUEUE", help="only these queues")
    _broker_options(p)
    p = dead.add(
        "requeue",
        cmd_dead_requeue,
        help="put messages back on their queue, as they were",
        description="Put messages set aside from QUEUE back on it, exactly as they were, for the workers to\n"
        "take again (after the worker that refused them was mended). A message still poison is set aside again.\n"
        "On RabbitMQ each message is published to its queue with a publisher confirm, and comes off the list\n"
        "only once the broker confirmed it.",
    )
    _selection(p, "requeue")
    _broker_options(p)
    p = dead.add(
        "purge",
        cmd_dead_purge,
        help="delete messages set aside",
        description="Delete messages set aside from QUEUE for good.",
    )
    _selection(p, "purge")
    _broker_options(p)
