"""Hypothesis strategies for the values a published JSON Schema (schemas/json) describes.

Hand-written rather than hypothesis-jsonschema's ``from_schema``: its last release fails
on the current hypothesis. The schemas pydantic writes use a small part of JSON Schema
(objects, ``$ref``, ``anyOf``/``oneOf``, ``const``, ``enum``, strings with lengths, a
pattern or a format, bounded integers, arrays), and that part is what this walks; any
other keyword fails loudly, so that a schema that grows one is noticed here.

Usage::

    profile = from_schema(load("customer_profile.v3"))
"""

import json
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

SCHEMA_DIR = Path(__file__).parents[3] / "schemas" / "json"

Schema = dict[str, Any]

ANNOTATIONS = {"title", "description", "default", "examples", "discriminator"}
EARLIEST = date(1971, 1, 1)
LATEST = date(2199, 1, 1)


@cache
def load(name: str) -> Schema:
    """A published schema by its file's name without ``.schema.json``."""
    schema: Schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    return schema


def from_schema(schema: Schema, defs: Schema | None = None) -> st.SearchStrategy[Any]:
    """Values valid against ``schema``; ``defs`` are the ``$defs`` its refs point into."""
    defs = schema.get("$defs", {}) if defs is None else defs
    node = {k: v for k, v in schema.items() if k not in ANNOTATIONS and k != "$defs"}
    if "$ref" in node:
        return from_schema(defs[node["$ref"].removeprefix("#/$defs/")], defs)
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in node:
            return st.one_of([from_schema(option, defs) for option in node[combinator]])
    kind = node.pop("type", None)
    if kind not in BY_TYPE:
        raise NotImplementedError(f"schema node {schema!r}")
    return BY_TYPE[kind](node, defs)


def _object(node: Schema, defs: Schema) -> st.SearchStrategy[dict[str, Any]]:
    _only(node, {"properties", "required", "additionalProperties"})
    properties = node.get("properties", {})
    required = set(node.get("required", ()))
    return st.fixed_dictionaries(
        {name: from_schema(sub, defs) for name, sub in properties.items() if name in required},
        optional={name: from_schema(sub, defs) for name, sub in properties.items() if name not in required},
    )


def _string(node: Schema, defs: Schema) -> st.SearchStrategy[str]:
    _only(node, {"minLength", "maxLength", "pattern", "format"})
    if node.get("format") == "date-time":
        return timestamps()
    if node.get("format") == "date":
        return st.dates(EARLIEST, LATEST).map(date.isoformat)
    if "format" in node:
        raise NotImplementedError(f"format {node['format']!r}")
    if "pattern" in node:
        return st.from_regex(node["pattern"], fullmatch=True)
    # No NUL: the schema allows it, PostgreSQL's text does not, and ingest refuses it (the
    # mutations of tests/unit/fuzz/records.py bring it in).
    return st.text(
        st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
        min_size=node.get("minLength", 0),
        max_size=min(node.get("maxLength", 40), 40),
    )


def _integer(node: Schema, defs: Schema) -> st.SearchStrategy[int]:
    _only(node, {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
    low = node.get("minimum", node["exclusiveMinimum"] + 1 if "exclusiveMinimum" in node else None)
    high = node.get("maximum", node["exclusiveMaximum"] - 1 if "exclusiveMaximum" in node else None)
    return st.integers(low, high)


def _array(node: Schema, defs: Schema) -> st.SearchStrategy[list[Any]]:
    _only(node, {"items", "minItems", "maxItems", "uniqueItems"})
    return st.lists(
        from_schema(node.get("items", {"type": "string"}), defs),
        min_size=node.get("minItems", 0),
        max_size=node.get("maxItems", 4),
        unique_by=(lambda v: json.dumps(v, sort_keys=True)) if node.get("uniqueItems") else None,
    )


def _number(node: Schema, defs: Schema) -> st.SearchStrategy[float]:
    _only(node, set())
    return st.floats(allow_nan=False, allow_infinity=False)


def _plain(value: st.SearchStrategy[Any]) -> Any:
    def build(node: Schema, defs: Schema) -> st.SearchStrategy[Any]:
        _only(node, set())
        return value

    return build


BY_TYPE = {
    "object": _object,
    "string": _string,
    "integer": _integer,
    "array": _array,
    "number": _number,
    "boolean": _plain(st.booleans()),
    "null": _plain(st.none()),
}


def _only(node: Schema, known: set[str]) -> None:
    unknown = set(node) - known
    if unknown:
        raise NotImplementedError(f"keywords {sorted(unknown)} in {node!r}")


ODD_OFFSETS = [
    timedelta(0),
    timedelta(hours=14),
    timedelta(hours=-12),
    timedelta(hours=5, minutes=45),
    timedelta(hours=-9, minutes=-30),
    timedelta(hours=23, minutes=59),
]


def timestamps(
    around: datetime = datetime(2026, 11, 25, 9, tzinfo=UTC), spread: timedelta = timedelta(days=30)
) -> st.SearchStrategy[str]:
    """RFC 3339 timestamps within ``spread`` before ``around`` (and a little after), at odd offsets."""
    moments = st.datetimes(
        min_value=(around - spread).replace(tzinfo=None),
        max_value=(around + timedelta(hours=20)).replace(tzinfo=None),
    )
    return st.builds(
        lambda moment, offset: moment.replace(tzinfo=UTC).astimezone(timezone(offset)).isoformat(),
        moments,
        st.sampled_from(ODD_OFFSETS),
    )
