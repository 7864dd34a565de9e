"""Logging setup: text and JSON lines, the bound job's fields on every record, Celery's loggers."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from tests.unit import builders
from zeebe_celery.job import Job
from zeebe_celery.logs import (
    JobContextFilter,
    JsonFormatter,
    TextFormatter,
    bind_job,
    current_job,
    install_celery_logging,
    parse_level,
    setup_logging,
)

logger = logging.getLogger("zeebe_celery.tests.logs")


def make_job(key: int = 101) -> Job:
    return builders.make_job(key, process_instance_key=202)


@pytest.fixture
def restore_root() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def json_lines(restore_root: logging.Logger) -> io.StringIO:
    stream = io.StringIO()
    setup_logging("DEBUG", "json", stream=stream)
    return stream


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_time_level_logger_and_message(json_lines: io.StringIO) -> None:
    logger.info("charged %s for %.2f", "o-1", 12.5)

    (record,) = records(json_lines)
    assert record["level"] == "INFO"
    assert record["logger"] == "zeebe_celery.tests.logs"
    assert record["message"] == "charged o-1 for 12.50"
    assert record["time"].endswith("+00:00")
    assert "job_key" not in record


def test_records_logged_while_a_job_is_bound_carry_its_key_type_and_instance(json_lines: io.StringIO) -> None:
    job = make_job()

    with bind_job(job) as bound:
        assert bound is job
        assert current_job() is job
        logger.warning("inside")
    logger.warning("outside")

    inside, outside = records(json_lines)
    assert (inside["job_key"], inside["job_type"], inside["process_instance_key"]) == (101, "charge-card", 202)
    assert {"job_key", "job_type", "process_instance_key"}.isdisjoint(outside)
    assert current_job() is None


def test_nested_bindings_restore_the_outer_job(json_lines: io.StringIO) -> None:
    with bind_job(make_job(key=1)):
        with bind_job(make_job(key=2)):
            logger.info("inner")
        logger.info("outer")

    assert [r["job_key"] for r in records(json_lines)] == [2, 1]


def test_the_binding_is_restored_when_the_block_raises(json_lines: io.StringIO) -> None:
    with pytest.raises(RuntimeError), bind_job(make_job()):
        raise RuntimeError("handler failed")

    assert current_job() is None


def test_a_binding_does_not_leak_into_other_threads(json_lines: io.StringIO) -> None:
    def other() -> None:
        logger.info("elsewhere")

    with bind_job(make_job()):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()

    (record,) = records(json_lines)
    assert "job_key" not in record


def test_extra_fields_and_exceptions_are_json_fields(json_lines: io.StringIO) -> None:
    try:
        raise ValueError("bad amount")
    except ValueError:
        logger.exception("failed", extra={"attempt": 2, "order": object.__new__(object)})

    (record,) = records(json_lines)
    assert record["attempt"] == 2
    assert record["order"].startswith("<object object")
    assert record["exception"].startswith("Traceback")
    assert "ValueError: bad amount" in record["exception"]


def test_fields_given_explicitly_win_over_the_bound_job(json_lines: io.StringIO) -> None:
    with bind_job(make_job(key=1)):
        logger.info("about another job", extra={"job_key": 99})

    (record,) = records(json_lines)
    assert (record["job_key"], record["job_type"]) == (99, "charge-card")


def test_the_formatter_reads_the_bound_job_without_the_filter() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)

    with bind_job(make_job(key=7)):
        document = json.loads(JsonFormatter().format(record))

    assert document["job_key"] == 7


def test_the_filter_copies_the_job_onto_the_record_for_other_threads() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)

    with bind_job(make_job(key=8)):
        JobContextFilter().filter(record)
    document = json.loads(JsonFormatter().format(record))

    assert (document["job_key"], document["process_instance_key"]) == (8, 202)


def test_text_lines_append_the_bound_job(restore_root: logging.Logger) -> None:
    stream = io.StringIO()
    setup_logging("INFO", "text", stream=stream)

    logger.info("plain")
    with bind_job(make_job()):
        logger.info("with job")
    logger.debug("below the level")

    plain, with_job = stream.getvalue().splitlines()
    assert plain.endswith("INFO    zeebe_celery.tests.logs: plain")
    assert with_job.endswith("with job [job=101 type=charge-card instance=202]")


def test_text_formatter_puts_the_job_on_the_first_line_of_a_traceback() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", None, None)
    record.exc_text = "Traceback (most recent call last):\n  boom"

    with bind_job(make_job()):
        text = TextFormatter().format(record)

    assert text.splitlines()[0].endswith("m [job=101 type=charge-card instance=202]")
    assert text.splitlines()[-1] == "  boom"


def test_setup_logging_twice_replaces_its_handler(restore_root: logging.Logger) -> None:
    first, second = io.StringIO(), io.StringIO()
    foreign = logging.NullHandler()
    restore_root.addHandler(foreign)

    setup_logging("INFO", "text", stream=first)
    setup_logging("WARNING", "json", stream=second)
    logger.warning("once")

    assert first.getvalue() == ""
    assert [r["message"] for r in records(second)] == ["once"]
    assert foreign in restore_root.handlers
    assert restore_root.level == logging.WARNING


@pytest.mark.parametrize(("given", "level"), [("debug", 10), ("Warning", 30), ("25", 25), (40, 40)])
def test_levels_are_names_in_any_case_or_numbers(given: str | int, level: int) -> None:
    assert parse_level(given) == level


def test_unknown_levels_and_formats_are_refused(restore_root: logging.Logger) -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        setup_logging("LOUD", "text")
    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        setup_logging("INFO", "xml")


@pytest.fixture
def celery_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    target = logging.getLogger("zeebe_celery.tests.celery-worker")
    target.propagate = False
    target.setLevel(logging.INFO)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    target.addHandler(handler)
    yield target, stream
    target.removeHandler(handler)
    target.propagate = True
    target.setLevel(logging.NOTSET)


def _disconnect(app: Celery) -> None:
    for signal in (after_setup_logger, after_setup_task_logger):
        signal.disconnect(dispatch_uid=f"zeebe-celery-logging-{id(app)}-{signal.name}")


def test_celery_loggers_get_json_lines_in_workers(celery_logger: tuple[logging.Logger, io.StringIO]) -> None:
    target, stream = celery_logger
    app = Celery("logs-json", set_as_current=False)
    install_celery_logging(app, "json")
    install_celery_logging(app, "json")  # a second install is a no-op
    try:
        after_setup_task_logger.send(sender=None, logger=target, loglevel=logging.INFO, logfile=None, format="")
        with bind_job(make_job(key=5)):
            target.info("reported")
    finally:
        _disconnect(app)

    (line,) = stream.getvalue().splitlines()
    assert json.loads(line) | {"time": "t"} == {
        "time": "t",
        "level": "INFO",
        "logger": "zeebe_celery.tests.celery-worker",
        "message": "reported",
        "job_key": 5,
        "job_type": "charge-card",
        "process_instance_key": 202,
    }


def _logged_through_celery(celery_logger: tuple[logging.Logger, io.StringIO], app_name: str, message: str) -> str:
    """What ``message`` logged on Celery's logger writes once an app of ``app_name`` installed its logging
    (as the environment configures it) and Celery set the logger up."""
    target, stream = celery_logger
    app = Celery(app_name, set_as_current=False)
    install_celery_logging(app)
    try:
        after_setup_logger.send(sender=None, logger=target, loglevel=logging.INFO, logfile=None, format="")
        target.info(message)
    finally:
        _disconnect(app)
    return stream.getvalue()


def test_celery_logging_follows_the_environment_and_text_leaves_celery_alone(
    celery_logger: tuple[logging.Logger, io.StringIO], monkeypatch: pytest.MonkeyPatch, clean_env: Any
) -> None:
    monkeypatch.setenv("ZEEBE_CELERY_LOG_FORMAT", "text")
    logged = _logged_through_celery(celery_logger, "logs-text", "as celery formats it")
    assert logged == "INFO as celery formats it\n"


def test_celery_logging_from_the_environment_in_json(
    celery_logger: tuple[logging.Logger, io.StringIO], monkeypatch: pytest.MonkeyPatch, clean_env: Any
) -> None:
    monkeypatch.setenv("ZEEBE_CELERY_LOG_FORMAT", "json")
    logged = _logged_through_celery(celery_logger, "logs-env-json", "json from the environment")
    assert json.loads(logged)["message"] == "json from the environment"
