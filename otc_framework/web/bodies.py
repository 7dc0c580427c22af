"""Request bodies in, answers out, through the pydantic models routes declare.

JSON numbers are read as ``Decimal`` (``parse_float``), so ``"amount": 100000.10`` keeps its
digits; floats never appear. Requests are strict (``extra="forbid"``): an unknown field is a
VALIDATION_ERROR naming it. Answers carry decimals as strings and use camelCase names.

The parser holds a body to ``web.limits``: nesting and numbers are bounded before the JSON
parser or ``Decimal`` sees them, so a hostile body is a VALIDATION_ERROR on ``body``, never a
crash. A query value left blank (``?limit=``) is a value like any other, validated as sent.
No text of a request may hold NUL (``\u0000``): PostgreSQL cannot store it, so it is refused
up front, and ``RequestSchema`` writes the rule into every request string of the API document.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, NoReturn, TypeVar

import orjson
from pydantic import (
    AliasGenerator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema
from sanic import Request
from sanic.response import HTTPResponse
from sanic.response.types import HEADER_TRANSLATION_TABLE

from otc_framework.errors import ValidationFailed
from otc_framework.web.limits import MAX_JSON_DEPTH, MAX_NUMBER_CHARS

Model = TypeVar("Model", bound=BaseModel)

_CAMEL = AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel)

# Patterns of request texts, NUL left out of each (see the module docstring). The characters
# ``str.strip()`` removes are spelled out: regex engines disagree on what ``\s`` is (Python's
# has \x1c-\x1f, JSON Schema's has \ufeff).
NO_NUL = r"^[^\x00]*$"
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
VISIBLE = rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"  # a text that keeps something once stripped
NO_SPACE = rf"^[^\x00{_SPACE}]*$"  # a text without any space


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=_CAMEL, populate_by_name=False)


class AnswerModel(BaseModel):
    model_config = ConfigDict(alias_generator=_CAMEL, populate_by_name=True)


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_problem(error: ValidationError) -> ValidationFailed:
    """One VALIDATION_ERROR naming the first bad field, with every problem listed. ``field`` is
    the member of the request (``botParticipants``); the detail and ``errors`` give the path
    within it (``botParticipants.0``)."""
    found = error.errors(include_url=False)
    problems = [{"field": _field(e["loc"]), "message": e["msg"]} for e in found]
    first = problems[0]
    member = _field(found[0]["loc"][:1])
    return ValidationFailed(f"{first['field']}: {first['message']}", field=member, errors=problems)


# Strings first (a bracket inside one does not nest), then the brackets left.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[][{}]")


def _too_deep(raw: bytes) -> bool:
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return False  # not enough brackets to nest that deep (most bodies): no need to scan
    depth = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _refuse_body(message: str) -> NoReturn:
    raise ValidationFailed(f"body: {message}", field="body")


def _json_decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        _refuse_body(f"a number may be at most {MAX_NUMBER_CHARS} characters")
    value = Decimal(text)
    if value.adjusted() >= MAX_NUMBER_CHARS:
        _refuse_body(f"a number must be below 1e{MAX_NUMBER_CHARS}")
    return value


def _json_int(text: str) -> int:
    # Checked before ``int()``, which refuses literals of more than 4300 digits with a ValueError.
    if len(text) > MAX_NUMBER_CHARS:
        _refuse_body(f"a number may be at most {MAX_NUMBER_CHARS} characters")
    return int(text)


def _json_constant(name: str) -> NoReturn:
    _refuse_body(f"{name} is not JSON")


# Made once: ``json.loads`` with hooks builds a decoder on every call (half its cost on a quote's body).
_DECODER = json.JSONDecoder(parse_float=_json_decimal, parse_int=_json_int, parse_constant=_json_constant)


def parse_json(request: Request) -> Any:
    body = request.body
    if not body:
        raise ValidationFailed("body: a JSON object is required", field="body")
    if _too_deep(body):
        _refuse_body(f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        # As ``json.loads`` reads bytes: UTF-8, -16 or -32, told apart by their first bytes.
        return _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationFailed("body: not valid JSON", field="body") from None


def parse_body(request: Request, model: type[Model], *, optional: bool = False) -> Model:
    """Validate the request body with ``model``; an empty body is ``{}`` when ``optional``."""
    data = {} if optional and not request.body else parse_json(request)
    return validate(model, data)


def parse_query(request: Request, model: type[Model]) -> Model:
    data = {key: values[-1] for key, values in request.get_args(keep_blank_values=True).items()}
    return validate(model, data)


def _query_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise ValueError("must be true or false")


# A query flag is the two words the document names, not every spelling pydantic would take ("1", "on").
QueryBool = Annotated[bool, PlainValidator(_query_bool), WithJsonSchema({"type": "boolean"}, mode="validation")]


def _nul_at(data: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """Where the first text holding NUL is (a key or a value), or None."""
    if isinstance(data, str):
        return path if "\x00" in data else None
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        inner = (*path, str(key))
        if isinstance(key, str) and "\x00" in key:
            return inner
        found = _nul_at(value, inner)
        if found is not None:
            return found
    return None


def validate(model: type[Model], data: Any) -> Model:
    if not isinstance(data, dict):
        raise ValidationFailed("body: expected a JSON object", field="body")
    nul = _nul_at(data)
    if nul is not None:
        raise ValidationFailed(f"{'.'.join(nul)}: a text may not hold NUL (\\u0000)", field=nul[0])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None


class RequestSchema(GenerateJsonSchema):
    """The JSON schema generator of the API document: a request string without a pattern of
    its own gets ``NO_NUL`` (the ones with a pattern build it in)."""

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        json_schema = super().str_schema(schema)
        if self.mode == "validation":
            json_schema.setdefault("pattern", NO_NUL)
        return json_schema


def answer(model: BaseModel, status: int = 200) -> HTTPResponse:
    return answer_json(model.model_dump_json(by_alias=True), status)


class Answer(HTTPResponse):
    """Sanic's response for the desk's JSON answers (results and problems alike), whose header
    values skip its character filter when there is nothing to filter: it strips CR, LF and
    NUL, none of them printable, from each name and value of every answer, one character at a
    time."""

    __slots__ = ()

    @staticmethod
    def _sanitize_header_value(value: str) -> str:
        return value if value.isprintable() else value.translate(HEADER_TRANSLATION_TABLE)


def answer_json(text: str, status: int = 200) -> HTTPResponse:
    """An answer already written as JSON (by an answer model: a close's stored answer, say)."""
    return Answer(text, status=status, content_type="application/json")


def amount_text(value: Decimal) -> str:
    # normalize() drops trailing zeros a numeric column adds ("100000.000000" → "100000"),
    # and the "f" format keeps it out of exponent notation ("1E+5").
    return format(value.normalize(), "f")


def decimal_text(value: Decimal) -> str:
    return format(value, "f")


def time_text(value: datetime) -> str:
    """A time as an answer model writes it in JSON: ISO 8601, ``Z`` for UTC, no fraction for a
    whole second."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)[1:-1].decode()


# Decimals go out as strings: prices and totals keep their fixed places ("5.0150"), amounts
# are written plainly ("100000", "1500.5").
DecimalText = Annotated[Decimal, PlainSerializer(decimal_text, return_type=str)]
AmountText = Annotated[Decimal, PlainSerializer(amount_text, return_type=str)]
