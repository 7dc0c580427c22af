"""Request bodies in, answers out, through the pydantic models routes declare.

JSON numbers are read as ``Decimal`` (``parse_float``), so ``"amount": 100000.10`` keeps its
digits; floats never appear. Requests are strict (``extra="forbid"``): an unknown field is a
VALIDATION_ERROR naming it. Answers carry decimals as strings and use camelCase names.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import AliasGenerator, BaseModel, ConfigDict, PlainSerializer, ValidationError
from pydantic.alias_generators import to_camel
from sanic import Request
from sanic.response import HTTPResponse

from otc_framework.errors import ValidationFailed

Model = TypeVar("Model", bound=BaseModel)

_CAMEL = AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel)


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=_CAMEL, populate_by_name=False)


class AnswerModel(BaseModel):
    model_config = ConfigDict(alias_generator=_CAMEL, populate_by_name=True)


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_problem(error: ValidationError) -> ValidationFailed:
    """One VALIDATION_ERROR naming the first bad field, with every problem listed."""
    problems = [{"field": _field(e["loc"]), "message": e["msg"]} for e in error.errors(include_url=False)]
    first = problems[0]
    return ValidationFailed(f"{first['field']}: {first['message']}", field=first["field"], errors=problems)


def parse_json(request: Request) -> Any:
    if not request.body:
        raise ValidationFailed("body: a JSON object is required", field="body")
    try:
        return json.loads(request.body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("body: not valid JSON", field="body") from None


def parse_body(request: Request, model: type[Model], *, optional: bool = False) -> Model:
    """Validate the request body with ``model``; an empty body is ``{}`` when ``optional``."""
    data = {} if optional and not request.body else parse_json(request)
    return validate(model, data)


def parse_query(request: Request, model: type[Model]) -> Model:
    data = {key: values[-1] for key, values in request.args.items()}
    return validate(model, data)


def validate(model: type[Model], data: Any) -> Model:
    if not isinstance(data, dict):
        raise ValidationFailed("body: expected a JSON object", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None


def answer(model: BaseModel, status: int = 200) -> HTTPResponse:
    return HTTPResponse(model.model_dump_json(by_alias=True), status=status, content_type="application/json")


def _plain(value: Decimal) -> str:
    # normalize() drops trailing zeros a numeric column adds ("100000.000000" → "100000"),
    # and the "f" format keeps it out of exponent notation ("1E+5").
    return format(value.normalize(), "f")


# Decimals go out as strings: prices and totals keep their fixed places ("5.0150"), amounts
# are written plainly ("100000", "1500.5").
DecimalText = Annotated[Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str)]
AmountText = Annotated[Decimal, PlainSerializer(_plain, return_type=str)]
