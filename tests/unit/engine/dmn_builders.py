"""Small builders for DMN documents in tests: one table, its rules as rows of cell texts; boxed expressions."""

from __future__ import annotations

from xml.sax.saxutils import escape

DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def table_decision(
    decision_id: str,
    *,
    inputs: list[str],
    outputs: list[str],
    rules: list[list[str]],
    hit_policy: str = "UNIQUE",
    aggregation: str | None = None,
    requires: tuple[str, ...] = (),
    output_values: dict[str, str] | None = None,
) -> str:
    """A <decision> with a decision table; each rule row holds the input cells then the output cells."""
    values = output_values or {}
    heads = "".join(
        f'<input id="{decision_id}-in{n}" label="In {n}"><inputExpression><text>{escape(text)}</text>'
        "</inputExpression></input>"
        for n, text in enumerate(inputs, 1)
    )
    outs = "".join(
        f'<output id="{decision_id}-out-{name}" name="{name}">'
        + (f"<outputValues><text>{escape(values[name])}</text></outputValues>" if name in values else "")
        + "</output>"
        for name in outputs
    )
    body = ""
    for n, row in enumerate(rules, 1):
        cells = "".join(f"<inputEntry><text>{escape(c)}</text></inputEntry>" for c in row[: len(inputs)])
        cells += "".join(f"<outputEntry><text>{escape(c)}</text></outputEntry>" for c in row[len(inputs) :])
        body += f'<rule id="{decision_id}-r{n}">{cells}</rule>'
    aggregate = f' aggregation="{aggregation}"' if aggregation else ""
    needs = "".join(
        f'<informationRequirement><requiredDecision href="#{r}"/></informationRequirement>' for r in requires
    )
    return (
        f'<decision id="{decision_id}" name="{decision_id.title()}">{needs}'
        f'<decisionTable id="{decision_id}-table" hitPolicy="{hit_policy}"{aggregate}>{heads}{outs}{body}'
        "</decisionTable></decision>"
    )


def literal_decision(decision_id: str, text: str, *, requires: tuple[str, ...] = ()) -> str:
    needs = "".join(
        f'<informationRequirement><requiredDecision href="#{r}"/></informationRequirement>' for r in requires
    )
    return (
        f'<decision id="{decision_id}" name="{decision_id.title()}">{needs}<variable name="{decision_id}"/>'
        f"<literalExpression><text>{escape(text)}</text></literalExpression></decision>"
    )


def document(*decisions: str, namespace: str = DMN13) -> bytes:
    return (
        f'<definitions xmlns="{namespace}" id="drg" name="Test DRG" namespace="t">'
        + "".join(decisions)
        + "</definitions>"
    ).encode()


def model(body: str) -> bytes:
    return f'<definitions xmlns="{DMN13}" id="drg" name="Boxed" namespace="t">{body}</definitions>'.encode()


def lit(text: str, type_ref: str = "") -> str:
    typed = f' typeRef="{type_ref}"' if type_ref else ""
    return f"<literalExpression{typed}><text>{text}</text></literalExpression>"


def decision(name: str, logic: str, *, type_ref: str = "", requires: tuple[str, ...] = ()) -> str:
    needs = "".join(
        f'<informationRequirement><requiredDecision href="#{r}"/></informationRequirement>' for r in requires
    )
    typed = f' typeRef="{type_ref}"' if type_ref else ""
    return f'<decision id="{name}" name="{name}">{needs}<variable name="{name}"{typed}/>{logic}</decision>'


def entry(name: str | None, expression: str) -> str:
    variable = f'<variable name="{name}"/>' if name is not None else ""
    return f"<contextEntry>{variable}{expression}</contextEntry>"
