"""DMN XML (1.1 to 1.5) to the model: decisions, business knowledge models, decision services, input data.

Every FEEL expression is compiled up front. Strict parsing (the default, as Zeebe builds its DMN engine)
refuses a model with any expression it cannot read, naming the element; ``lazy=True`` (as the DMN TCK runs
Camunda's engine) keeps the model and fails only what evaluates that expression. What no evaluation could
work around (not DMN, no decision, a requirement cycle) is refused either way.
"""

from __future__ import annotations

# expat (>= 2.4) caps entity expansion, and ElementTree fetches no external entity.
import xml.etree.ElementTree as ET

from .boxed import FunctionDefinition
from .boxed_parser import expression_in, function_body
from .errors import DmnParseError
from .model import BusinessKnowledgeModel, Decision, DecisionRequirements, DecisionService
from .names import NameQuoter, model_names
from .reader import Reader
from .types import read_types

__all__ = ["NAMESPACES", "parse_dmn"]

NAMESPACES = frozenset(
    {
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # 1.1
        "http://www.omg.org/spec/DMN/20180521/MODEL/",  # 1.2
        "https://www.omg.org/spec/DMN/20191111/MODEL/",  # 1.3
        "https://www.omg.org/spec/DMN/20211108/MODEL/",  # 1.4
        "https://www.omg.org/spec/DMN/20230324/MODEL/",  # 1.5
    }
)


def parse_dmn(
    data: bytes, *, resource_name: str, lazy: bool = False, quote_names: bool = False
) -> DecisionRequirements:
    """Parse a DMN resource; raises DmnParseError naming the element that is wrong. ``lazy`` keeps a model
    with expressions it cannot read; ``quote_names`` reads the model's names with spaces and dashes in FEEL
    (Camunda's ``escapeNamesWithSpaces`` and ``escapeNamesWithDashes``)."""
    try:
        root = ET.fromstring(data)  # noqa: S314 - see the import
    except ET.ParseError as error:
        raise DmnParseError(f"'{resource_name}' is not well-formed XML: {error}") from None
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if local != "definitions" or namespace not in NAMESPACES:
        raise DmnParseError(f"'{resource_name}' is not a DMN resource: root element is '{root.tag}'")
    quote = NameQuoter(model_names(root)) if quote_names else str
    reader = Reader(namespace, resource_name, lazy=lazy, quote=quote, types=read_types(root, namespace))
    drg_id = root.get("id") or root.get("name") or ""
    if not drg_id:
        raise reader.fail("definitions", "the definitions have neither an id nor a name")
    input_data = {_id_of(e): e.get("name") or _id_of(e) for e in reader.all(root, "inputData")}
    input_types = {e.get("name") or _id_of(e): _variable_type(reader, e) for e in reader.all(root, "inputData")}
    decisions = tuple(_decision(reader, element) for element in reader.all(root, "decision"))
    if not decisions:
        raise reader.fail(drg_id, "the resource contains no decision")
    decisions = _check_requirements(reader, decisions)
    return DecisionRequirements(
        id=drg_id,
        name=root.get("name") or drg_id,
        decisions=decisions,
        resource_name=resource_name,
        namespace=root.get("namespace") or "",
        knowledge_models=tuple(_knowledge_model(reader, e) for e in reader.all(root, "businessKnowledgeModel")),
        services=tuple(_service(reader, e, input_data) for e in reader.all(root, "decisionService")),
        input_data=tuple(input_data.values()),
        input_types={name: type_ref for name, type_ref in input_types.items() if type_ref},
        types=reader.types,
    )


def _id_of(element: ET.Element) -> str:
    """An element's id; DMN allows none, and then its name stands in."""
    return element.get("id") or element.get("name") or ""


def _href(element: ET.Element) -> str:
    return (element.get("href") or "").rpartition("#")[2]


def _variable_name(reader: Reader, element: ET.Element) -> str:
    variable = reader.one(element, "variable")
    return (variable.get("name") or "") if variable is not None else ""


def _variable_type(reader: Reader, element: ET.Element) -> str:
    variable = reader.one(element, "variable")
    return (variable.get("typeRef") or "") if variable is not None else ""


def _decision(reader: Reader, element: ET.Element) -> Decision:
    decision_id = _id_of(element)
    if not decision_id:
        raise reader.fail("decision", "the decision has neither an id nor a name")
    required = [
        _href(ref)
        for requirement in reader.all(element, "informationRequirement")
        if (ref := reader.one(requirement, "requiredDecision")) is not None
    ]
    logic = expression_in(reader, element, decision_id)
    if logic is None and not reader.lazy:  # lazily, a decision without logic takes the value it is given
        raise reader.fail(decision_id, "the decision has no decision logic (a decision table, a literal expression...)")
    return Decision(
        id=decision_id,
        name=element.get("name") or decision_id,
        logic=logic,
        required_decisions=tuple(required),
        variable_name=_variable_name(reader, element),
        type_ref=_variable_type(reader, element),
    )


def _knowledge_model(reader: Reader, element: ET.Element) -> BusinessKnowledgeModel:
    bkm_id = _id_of(element)
    name = element.get("name") or bkm_id
    logic = reader.one(element, "encapsulatedLogic")
    if logic is None:
        return BusinessKnowledgeModel(bkm_id, name, (), None)
    definition = function_body(reader, logic, bkm_id, "business knowledge model")
    if not isinstance(definition, FunctionDefinition):  # why it cannot be read
        return BusinessKnowledgeModel(bkm_id, name, (), definition)
    return BusinessKnowledgeModel(bkm_id, name, definition.parameters, definition.body, definition.param_types)


def _service(reader: Reader, element: ET.Element, input_data: dict[str, str]) -> DecisionService:
    def refs(name: str) -> tuple[str, ...]:
        return tuple(_href(e) for e in reader.all(element, name))

    service_id = _id_of(element)
    return DecisionService(
        id=service_id,
        name=element.get("name") or service_id,
        output_decisions=refs("outputDecision"),
        encapsulated_decisions=refs("encapsulatedDecision"),
        input_decisions=refs("inputDecision"),
        input_data=tuple(input_data.get(ref, ref) for ref in refs("inputData")),
        type_ref=_variable_type(reader, element),
    )


def _check_requirements(reader: Reader, decisions: tuple[Decision, ...]) -> tuple[Decision, ...]:
    """Refuses a requirement cycle; a required decision not in the resource refuses the model when strict,
    else fails only the decision that requires it."""
    known = {d.id: d for d in decisions}
    checked = []
    for decision in decisions:
        missing = [required for required in decision.required_decisions if required not in known]
        if missing:
            problem = reader.problem(decision.id, f"the required decision '{missing[0]}' is not in the resource")
            decision = Decision(decision.id, decision.name, problem, (), decision.variable_name, decision.type_ref)
            known[decision.id] = decision
        checked.append(decision)
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(decision_id: str) -> None:
        if decision_id in done:
            return
        if decision_id in visiting:
            raise reader.fail(decision_id, "the decision requires itself through a cycle")
        visiting.add(decision_id)
        for required in known[decision_id].required_decisions:
            visit(required)
        visiting.discard(decision_id)
        done.add(decision_id)

    for decision in checked:
        visit(decision.id)
    return tuple(checked)
