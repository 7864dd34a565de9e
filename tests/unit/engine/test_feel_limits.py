"""FEEL's resource limits: a runaway expression fails fast, naming the limit, instead of taking the engine down."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, process, script_task, start_event
from tests.unit.engine.harness import Harness
from zeebe_celery import cli
from zeebe_celery.cli import engine as cli_engine
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.feel import (
    FeelEvaluationError,
    FeelLimitError,
    FeelLimits,
    FeelSyntaxError,
    compile_expression,
    compile_unary_tests,
    evaluate,
    use_limits,
)

_RUNAWAY = [
    ("for x in 1..10**8 return x", "max_size"),
    ("for x in 1..1000, y in 1..1000 return x * y", "max_steps"),
    ("count(for x in 1..1000 return for y in 1..1000 return y)", "max_steps"),
    ("{f: function(n) if n = 0 then 0 else f(n - 1) + f(n - 1)}.f(40)", "max_steps"),
    ('{f: function(s, n) if n = 0 then s else f(s + s, n - 1)}.f("ab", 60)', "max_size"),
    ("some x in 1..100000000 satisfies x < 0", "max_size"),
    ("every x in 1..1000, y in 1..1000 satisfies x > 0", "max_steps"),
    (f'matches("{"a" * 40}!", "(a|aa)+b")', "regex_timeout"),
    (f'replace("{"a" * 40}!", "(a|aa)+b", "x")', "regex_timeout"),
]


@pytest.fixture
def tight() -> Iterator[FeelLimits]:
    limits = FeelLimits(max_steps=50_000, max_size=100_000, regex_timeout=0.1)
    use_limits(limits)
    yield limits
    use_limits(FeelLimits())


# How long each takes is a figure, not a test (benchmarks/ holds figures): about 0.2 s at the defaults.
@pytest.mark.parametrize(("text", "limit"), _RUNAWAY)
def test_a_runaway_expression_fails_naming_the_limit_it_exceeded(text: str, limit: str) -> None:
    with pytest.raises(FeelLimitError, match=f"FEEL limit {limit}"):
        evaluate(text, {})


@pytest.mark.parametrize(("text", "limit"), _RUNAWAY)
def test_tighter_limits_stop_the_same_expressions(tight: FeelLimits, text: str, limit: str) -> None:
    with pytest.raises(FeelLimitError, match=f"FEEL limit {limit}"):
        evaluate(text, {})


def test_a_limit_error_is_an_evaluation_error_that_names_the_expression() -> None:
    with pytest.raises(FeelEvaluationError, match=re.escape("failed to evaluate expression 'for x in 1..10**8")):
        evaluate("for x in 1..10**8 return x", {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("count(for x in 1..100000 return x)", 100000),
        ("sum(for x in 1..1000 return x)", 500500),
        ("count([1, 2, 3][item > 1])", 2),
        ('string length(string join(for x in 1..1000 return "ab"))', 2000),
        ("10 ** 100000 > 0", True),
        # squaring 40 times overflows a decimal's exponent at once instead of growing an int for ever
        ("{f: function(n, k) if k = 0 then n else f(n * n, k - 1)}.f(3, 40)", None),
    ],
)
def test_large_but_bounded_work_stays_within_the_default_limits(text: str, expected: object) -> None:
    assert evaluate(text, {}) == expected


def test_each_evaluation_gets_a_fresh_step_budget(tight: FeelLimits) -> None:
    for _ in range(5):
        assert evaluate("count(for x in 1..40000 return x)", {}) == 40000


def test_unary_tests_are_limited_too(tight: FeelLimits) -> None:
    tests = compile_unary_tests("count(for x in 1..1000, y in 1..1000 return 1) > ?")
    with pytest.raises(FeelLimitError, match="max_steps"):
        tests.matches(1, {})


@pytest.mark.parametrize(
    "settings",
    [{"max_steps": 0}, {"max_size": -1}, {"regex_timeout": 0}],
)
def test_limits_must_be_positive(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        FeelLimits(**settings)  # type: ignore[arg-type]


def test_a_runaway_script_raises_an_incident_naming_the_limit_and_the_engine_answers_on() -> None:
    engine = Harness()
    engine.runtime.feel_limits = FeelLimits(max_steps=10_000)
    engine.deploy(
        process(
            "runaway",
            start_event(),
            script_task("loop", "=count(for x in 1..1000, y in 1..1000 return x)", "n"),
            end_event(),
            flows("start", "loop", "end"),
        )
    )
    key = engine.start("runaway")
    [incident] = engine.incidents(key)
    assert incident.error_type == "EXTRACT_VALUE_ERROR"
    assert "10000 steps (FEEL limit max_steps)" in incident.error_message
    other = engine.start("runaway")  # the engine keeps answering commands
    assert len(engine.incidents(other)) == 1


def test_the_engine_takes_its_feel_limits_as_a_setting() -> None:
    limits = FeelLimits(max_steps=7, max_size=8, regex_timeout=0.2)
    assert ZeebeEngine(feel_limits=limits).runtime.feel_limits is limits
    assert ZeebeEngine().runtime.feel_limits == FeelLimits()


def test_the_engine_command_passes_its_feel_limit_options_to_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    monkeypatch.setattr(cli_engine, "serve", lambda **options: seen.update(options))
    argv = ["engine", "--feel-max-steps", "1000", "--feel-max-size", "2000", "--feel-regex-timeout", "250ms"]
    assert cli.main(argv) == 0
    assert seen["feel_limits"] == FeelLimits(max_steps=1000, max_size=2000, regex_timeout=0.25)


def test_the_engine_command_refuses_a_zero_regex_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_engine, "serve", lambda **options: pytest.fail("the engine must not start"))
    assert cli.main(["engine", "--feel-regex-timeout", "0"]) == 64


@pytest.mark.parametrize("text", ["[" * 3000 + "1" + "]" * 3000, "-" * 3000 + "1", "not(" * 2000 + "true" + ")" * 2000])
def test_an_expression_nested_too_deeply_is_refused_when_compiled(text: str) -> None:
    with pytest.raises(FeelSyntaxError, match="too deeply nested"):
        compile_expression(text)
