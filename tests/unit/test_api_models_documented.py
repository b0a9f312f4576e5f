"""Every field of every API model has a description and an example, and every request body's
example is one the API accepts (issue 12, defect 10).

The walk imports every module of ``interfaces`` and visits every pydantic model defined there
(request and response bodies of every feature), so a model added later without descriptions or
examples fails here.
"""

from __future__ import annotations

import importlib
import pkgutil
import typing
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_settings import BaseSettings

import interfaces
from interfaces.api.agent_schemas import CamelIn
from interfaces.api.openapi_examples import body_example
from interfaces.api.schemas import StrictIn


def api_models() -> list[type[BaseModel]]:
    for module in pkgutil.walk_packages(interfaces.__path__, "interfaces."):
        if not module.name.endswith("__main__"):  # that one runs the CLI
            importlib.import_module(module.name)
    found: list[type[BaseModel]] = []
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("interfaces.") and not issubclass(sub, BaseSettings):
                found.append(sub)
    return sorted(set(found), key=lambda model: f"{model.__module__}.{model.__qualname__}")


MODELS = api_models()
BODIES = [m for m in MODELS if issubclass(m, StrictIn | CamelIn) and m not in (StrictIn, CamelIn)]


def holds_a_model(annotation: Any) -> bool:
    """A field whose value is a model (or a list of them): the model's fields carry examples."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(holds_a_model(arg) for arg in typing.get_args(annotation))


def fields(model: type[BaseModel]) -> list[tuple[str, Any, str | None, list[Any] | None]]:
    own = [(n, f.annotation, f.description, f.examples) for n, f in model.model_fields.items()]
    computed = [
        (n, f.return_type, f.description, f.examples)
        for n, f in model.model_computed_fields.items()
    ]
    return own + computed


def test_the_walk_finds_every_feature_s_models():
    names = {model.__name__ for model in MODELS}
    assert {"TaskIn", "FlowIn", "RunOut", "AgentIn", "ChatIn", "SendIn", "WorkerIn"} <= names
    assert {"ConversationOut", "DeliveryOut", "ErrorOut", "HealthOut", "EventOut"} <= names
    assert len(BODIES) >= 30


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__qualname__)
def test_every_field_has_a_description_and_an_example(model):
    undocumented = [
        name
        for name, annotation, description, examples in fields(model)
        if not (description and description.strip()) or not (examples or holds_a_model(annotation))
    ]
    assert undocumented == [], f"{model.__name__}: add description= and examples=[...]"


@pytest.mark.parametrize("model", BODIES, ids=lambda model: model.__qualname__)
def test_every_request_body_example_is_accepted(model):
    schema = model.model_json_schema()
    example = body_example(schema, schema.get("$defs", {}))
    assert example, f"{model.__name__} has no example"
    model.model_validate(example)  # raises when the example is not a valid body


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__qualname__)
def test_every_field_example_fits_its_field(model):
    for name, field in model.model_fields.items():
        kind = field.annotation
        constrained = TypeAdapter(Annotated[kind, *field.metadata] if field.metadata else kind)
        for example in field.examples or []:
            try:
                constrained.validate_python(example)
            except ValidationError as error:
                pytest.fail(f"{model.__name__}.{name}: example {example!r} is refused: {error}")
