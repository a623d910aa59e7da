"""App API people search: ``POST /v1/customers`` with a filter, paged by a cursor.

Filters are ``{"and": [...]}``, ``{"or": [...]}``, ``{"not": {...}}`` and
``{"attribute": {"field", "operator": "eq"|"exists", "value"}}``; ``eq`` compares JSON
values exactly, ``exists`` asks for a non-null value. A field is an attribute or one of
``id``, ``email``, ``cio_id``. Segments are not modelled (400).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final, cast

from cio_sec.sandbox.models import ClientError
from cio_sec.sandbox.people import Person, Workspace

MAX_LIMIT: Final = 1000
DEFAULT_LIMIT: Final = 50
MAX_DEPTH: Final = 32
_OPERATORS: Final = ("eq", "exists")


def search(
    workspace: Workspace, body: bytes, query: Mapping[str, list[str]], now: float
) -> dict[str, object]:
    """Return one page of the people a filter matches, ordered by cio_id.

    ``start`` is the ``next`` of the previous page; ``next`` is "" on the last page.

    Raises:
        ClientError: a bad ``limit``, a body without a valid ``filter``.
    """
    limit = _limit(query)
    start = (query.get("start") or [""])[-1]
    doc = _body(body)
    if "filter" not in doc:
        raise _bad("filter is required")
    check_filter(doc["filter"])
    condition = _node(doc["filter"])
    matched = sorted(
        (
            person
            for person in workspace.everyone_visible(now)
            if person.cio_id > start and matches(condition, person)
        ),
        key=lambda person: person.cio_id,
    )
    page = matched[:limit]
    return {
        "identifiers": [person.identifiers() for person in page],
        "ids": [person.id for person in page if person.id is not None],
        "next": page[-1].cio_id if len(matched) > limit else "",
    }


def check_filter(node: object, depth: int = 1) -> None:
    """Check a filter's shape.

    Raises:
        ClientError: anything but the documented shapes (segments included), or nesting
            deeper than `MAX_DEPTH`.
    """
    if depth > MAX_DEPTH:
        raise _bad(f"filters nest at most {MAX_DEPTH} deep")
    if not isinstance(node, dict) or len(node) != 1:
        raise _bad("a filter is an object with exactly one of and, or, not, attribute")
    ((kind, value),) = node.items()
    if kind in ("and", "or"):
        if not isinstance(value, list) or not value:
            raise _bad(f"{kind} takes a non-empty list of filters")
        for child in value:
            check_filter(child, depth + 1)
    elif kind == "not":
        check_filter(value, depth + 1)
    elif kind == "attribute":
        _check_attribute(value)
    elif kind == "segment":
        raise _bad("segment filters are not modelled by the sandbox")
    else:
        raise _bad(f"unknown filter {kind!r}")


def matches(node: dict[str, object], person: Person) -> bool:
    """Return whether a checked filter matches a person."""
    ((kind, value),) = node.items()
    if kind == "and":
        return all(matches(child, person) for child in _children(value))
    if kind == "or":
        return any(matches(child, person) for child in _children(value))
    if kind == "not":
        return not matches(_node(value), person)
    condition = _node(value)
    actual = _field(person, str(condition["field"]))
    if condition["operator"] == "exists":
        return actual is not None
    return actual is not None and _same(actual, condition["value"])


def _same(left: object, right: object) -> bool:
    # JSON equality: 1 == 1.0 but True != 1, as a JSON document compares them.
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True) or (
        _number(left) and _number(right) and left == right
    )


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _field(person: Person, name: str) -> object:
    if name in ("id", "email", "cio_id"):
        return person.identifiers()[name]
    return person.attributes.get(name)


def _children(value: object) -> list[dict[str, object]]:
    return cast("list[dict[str, object]]", value)  # checked by check_filter


def _node(value: object) -> dict[str, object]:
    return cast("dict[str, object]", value)  # checked by check_filter


def _check_attribute(condition: object) -> None:
    if not isinstance(condition, dict):
        raise _bad("attribute takes an object")
    unknown = set(condition) - {"field", "operator", "value"}
    if unknown:
        raise _bad(f"unknown attribute key(s): {', '.join(sorted(map(str, unknown)))}")
    field = condition.get("field")
    if not isinstance(field, str) or not field:
        raise _bad("attribute.field must be a non-empty string")
    operator = condition.get("operator")
    if operator not in _OPERATORS:
        raise _bad(f"attribute.operator must be one of {', '.join(_OPERATORS)}")
    if operator == "eq" and "value" not in condition:
        raise _bad("attribute.value is required with eq")


def _limit(query: Mapping[str, list[str]]) -> int:
    text = (query.get("limit") or [str(DEFAULT_LIMIT)])[-1]
    # NOTE: the length first: int() refuses more than 4300 digits with a ValueError.
    digits = text.isascii() and text.isdigit() and len(text) <= len(str(MAX_LIMIT))
    if not digits or not 1 <= int(text) <= MAX_LIMIT:
        raise _bad(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(text)


def _body(body: bytes) -> dict[str, object]:
    try:
        doc = json.loads(body) if body.strip() else {}
    except (ValueError, RecursionError):
        raise _bad("request body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise _bad("request body must be a JSON object")
    return doc


def _bad(message: str) -> ClientError:
    return ClientError(400, message, errors_shape=False)
