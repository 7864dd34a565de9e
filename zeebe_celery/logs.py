"""Logging for the ``zeebe-celery`` command and for Celery workers: text or JSON lines.

While a job is bound with :func:`bind_job`, every record logged in that context carries the job's
``job_key``, ``job_type`` and ``process_instance_key``: :class:`JsonFormatter` writes them as fields,
:class:`TextFormatter` appends them. Only the CLI (and :func:`install_celery_logging`, for workers)
configures handlers; library modules just log.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from celery import Celery

    from zeebe_celery.job import Job

__all__ = [
    "JOB_FIELDS",
    "JobContextFilter",
    "JsonFormatter",
    "TextFormatter",
    "bind_job",
    "current_job",
    "install_celery_logging",
    "parse_level",
    "setup_logging",
]

LogFormat = Literal["text", "json"]

JOB_FIELDS = ("job_key", "job_type", "process_instance_key")

_current_job: contextvars.ContextVar[Job | None] = contextvars.ContextVar("zeebe_celery_job", default=None)

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is worth showing.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    *JOB_FIELDS,
}
# Marks the handler setup_logging installed, so a second call replaces it instead of adding another.
_HANDLER_MARK = "_zeebe_celery_handler"


@contextlib.contextmanager
def bind_job(job: Job) -> Iterator[Job]:
    """Within the block, every record logged in this context carries ``job``'s key, type and instance."""
    token = _current_job.set(job)
    try:
        yield job
    finally:
        _current_job.reset(token)


def current_job() -> Job | None:
    """The job bound in this context, or None."""
    return _current_job.get()


def job_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The job fields of ``record``: set on it explicitly (``extra=``), else from the bound job."""
    fields = {name: getattr(record, name) for name in JOB_FIELDS if getattr(record, name, None) is not None}
    job = _current_job.get()
    if job is not None:
        fields.setdefault("job_key", job.key)
        fields.setdefault("job_type", job.type)
        fields.setdefault("process_instance_key", job.process_instance_key)
    return fields


class JobContextFilter(logging.Filter):
    """Copies the bound job's fields onto each record, so they survive a hand-off to another thread."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in job_fields(record).items():
            setattr(record, name, value)
        return True


def _celery_task() -> tuple[str, str] | None:
    # Celery is imported lazily: the formatter works in processes that never load it.
    celery_state = sys.modules.get("celery._state")
    if celery_state is None:
        return None
    task = celery_state.get_current_task()
    if task is None or task.request.id is None:
        return None
    return str(task.request.id), str(task.name)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the bound job's fields,
    the Celery task when inside one, anything passed as ``extra=``, and the exception if there is one.
    """

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        document.update(job_fields(record))
        task = _celery_task()
        if task is not None:
            document["task_id"], document["task_name"] = task
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_") and name not in document:
                document[name] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            document["exception"] = record.exc_text
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return json.dumps(document, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger: message``, with ``[job=... type=... instance=...]`` while a job is bound."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = job_fields(record)
        if not fields:
            return text
        context = " ".join(
            f"{label}={fields[name]}"
            for name, label in zip(JOB_FIELDS, ("job", "type", "instance"), strict=True)
            if name in fields
        )
        first, newline, rest = text.partition("\n")
        return f"{first} [{context}]{newline}{rest}"


def parse_level(level: str | int) -> int:
    """A level name (any case) or number as a logging level. Raises ValueError for an unknown name."""
    if isinstance(level, int):
        return level
    text = level.strip()
    if text.isdigit():
        return int(text)
    value = logging.getLevelNamesMapping().get(text.upper())
    if value is None:
        raise ValueError(f"unknown log level {level!r}; use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return value


def make_formatter(fmt: LogFormat | str) -> logging.Formatter:
    """The formatter for ``fmt``, "text" or "json". Raises ValueError for another format."""
    if fmt == "json":
        return JsonFormatter()
    if fmt == "text":
        return TextFormatter()
    raise ValueError(f"unknown log format {fmt!r}; use text or json")


def setup_logging(
    level: str | int = "INFO", fmt: LogFormat | str = "text", *, stream: IO[str] | None = None
) -> logging.Handler:
    """Send the root logger's records at ``level`` and above to ``stream`` (stderr) as text or JSON lines.

    Calling it again replaces the handler it installed before. Raises ValueError for an unknown level
    or format.
    """
    numeric = parse_level(level)
    formatter = make_formatter(fmt)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(JobContextFilter())
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    return handler


def apply_format(logger: logging.Logger, fmt: LogFormat | str) -> None:
    """Give every handler of ``logger`` the formatter for ``fmt``, and the job fields."""
    for handler in logger.handlers:
        handler.setFormatter(make_formatter(fmt))
        if not any(isinstance(f, JobContextFilter) for f in handler.filters):
            handler.addFilter(JobContextFilter())


def install_celery_logging(app: Celery, fmt: LogFormat | str | None = None) -> None:
    """Make a Celery worker of ``app`` log in ``fmt``, by hooking ``after_setup_logger`` and
    ``after_setup_task_logger``.

    ``fmt`` None reads ``ZEEBE_CELERY_LOG_FORMAT`` (through :class:`~zeebe_celery.config.BridgeSettings`);
    "text" leaves Celery's own format alone. Installing twice for one app is a no-op. Raises
    ConfigurationError for invalid settings and ValueError for an unknown format.
    """
    from celery.signals import after_setup_logger, after_setup_task_logger

    if fmt is None:
        from zeebe_celery.config import BridgeSettings, load_settings

        fmt = load_settings(BridgeSettings).log_format
    make_formatter(fmt)  # refuse an unknown format now, not in the worker
    if fmt == "text":
        return
    chosen = fmt

    def on_setup(logger: logging.Logger | None = None, **_: Any) -> None:
        if logger is not None:
            apply_format(logger, chosen)

    for signal in (after_setup_logger, after_setup_task_logger):
        signal.connect(on_setup, weak=False, dispatch_uid=f"zeebe-celery-logging-{id(app)}-{signal.name}")
