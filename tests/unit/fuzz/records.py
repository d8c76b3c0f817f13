"""Channel records for the fuzz tests: valid envelopes from the published JSON Schema,
the same mutated field by field, and bytes that are no envelope at all.

Every strategy draws ``bytes`` (a Kafka record's value), as ingest reads them.
"""

import json
from functools import cache
from typing import Any

from hypothesis import strategies as st

from tests.unit.fuzz.schema_strategies import Schema, from_schema, load

MEGABYTE = 1 << 20

ODD_TEXT = [
    "\u200f\u202eLTR\u202c",  # right-to-left marks and overrides
    "\u0000",
    "a\u0000b",
    "\ud800",  # a lone surrogate: escaped in JSON, not encodable as UTF-8
    "\udfff\ud800",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # an emoji sequence with joiners
    "e\u0301\u0301\u0301\u0301",  # combining marks
    "\ufeff",
    "\uffff",
    "\U0010ffff",
    " ",
    "",
    "\n\t\r",
    "null",
    "'; DROP TABLE events; --",
    "%s%n{0}",
]

ODD_TIMESTAMPS = [
    "2026-11-25T09:00:00+14:00",
    "2026-11-25T09:00:00-12:00",
    "2026-11-25T09:00:00+23:59",
    "2026-11-25T09:00:00+24:00",
    "2026-11-25T09:00:00-00:00",
    "2026-11-25T09:00:00+05:30:15",
    "2026-11-25T09:00:00.123456789Z",
    "2026-11-25T09:00:00",  # no offset
    "2026-11-25",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "2199-12-31T23:59:59Z",
    "9999-12-31T23:59:59+14:00",
    "2026-02-30T09:00:00Z",
    "2026-11-25T25:61:61Z",
    "1e10",
    "",
]

HUGE_NUMBERS = [0, -1, 2**31, 2**63, -(2**63) - 1, 10**40, 1.5, -0.0, 1e308]


def _envelope_schemas() -> dict[str, Schema]:
    """Each channel and type's envelope schema, by its $defs name."""
    schema = load("interaction.v2")
    return {
        ref.removeprefix("#/$defs/"): schema["$defs"][ref.removeprefix("#/$defs/")]
        for channel in schema["discriminator"]["mapping"].values()
        for ref in channel["discriminator"]["mapping"].values()
    }


IDENTITY = ("customer_id", "account_no", "card_no", "phone", "web_user")

NUMBERS = st.fixed_dictionaries(
    {},
    optional={
        "card_no": st.sampled_from(["4000567856785678", "4000 5678 5678 5678", "6222 0202 0011 2233"]),
        "phone": st.sampled_from(["+86 139 7777 4321", "13977774321", "+1-212-555-0199"]),
        "account_no": st.sampled_from(["6222020200112233445", "GB29NWBK60161331926819"]),
    },
)
"""Identifiers as channel systems send them: what a dead letter's reason must not repeat."""


def _named(record: dict[str, Any], numbers: dict[str, str], fallback: str) -> dict[str, Any]:
    record["customer"].update(numbers)
    # What the JSON Schema cannot say: a customer_id or at least one identifier.
    if not any(record["customer"].get(k) for k in IDENTITY):
        record["customer"]["customer_id"] = fallback
    # Nor that on_behalf_of needs schema_version 2.
    if record.get("on_behalf_of") is not None:
        record["schema_version"] = 2
    return record


@cache  # a strategy built once: hypothesis validates each new one
def valid_envelopes() -> st.SearchStrategy[dict[str, Any]]:
    """Envelopes valid against the published schema, of every channel and type, that
    name their customer, some by realistic card, phone or account numbers."""
    defs = load("interaction.v2")["$defs"]
    envelopes = st.one_of([from_schema(schema, defs) for schema in _envelope_schemas().values()])
    return st.builds(_named, envelopes, NUMBERS, st.sampled_from(["C000001", "C000002", "C-\u00e9\u200f"]))


@cache
def huge_text() -> st.SearchStrategy[str]:
    return st.sampled_from(["x", "\u00e9", "\U0001f600", "6222"]).map(lambda unit: unit * (MEGABYTE // 4))


@cache
def odd_values() -> st.SearchStrategy[Any]:
    """What a mutation writes in place of a field."""
    return st.one_of(
        st.sampled_from(ODD_TEXT),
        st.sampled_from(ODD_TIMESTAMPS),
        st.sampled_from(HUGE_NUMBERS),
        st.none(),
        st.booleans(),
        st.text(max_size=20),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        huge_text(),
    )


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every field of a JSON object, nested ones too, as key paths."""
    found = []
    if isinstance(value, dict):
        for key, sub in value.items():
            found.append((*prefix, key))
            found += _paths(sub, (*prefix, key))
    return found


def mutated_envelopes() -> st.SearchStrategy[dict[str, Any]]:
    """A valid envelope with one to three fields deleted, or replaced by an odd value."""
    return mutated(valid_envelopes())


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A ``valid`` record with one to three fields deleted, or replaced by an odd value."""
    record: dict[str, Any] = json.loads(json.dumps(draw(valid)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(record)
        if not paths:
            break
        *parent_path, key = draw(st.sampled_from(paths))
        parent = record
        for part in parent_path:
            parent = parent[part]
        if draw(st.booleans()) and draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = draw(odd_values())
    return record


def encoded(record: Any, ascii_only: bool) -> bytes:
    """JSON as a channel system might write it: escaped ASCII, or UTF-8 (where a lone
    surrogate comes out as bytes that are not UTF-8)."""
    text = json.dumps(record, ensure_ascii=ascii_only)
    return text.encode("utf-8", errors="surrogatepass")


def as_bytes(records: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.builds(encoded, records, st.booleans())


@st.composite
def truncated(draw: st.DrawFn, valid: st.SearchStrategy[Any]) -> bytes:
    whole = draw(as_bytes(valid))
    return whole[: draw(st.integers(0, max(len(whole) - 1, 0)))]


@st.composite
def not_utf8(draw: st.DrawFn, valid: st.SearchStrategy[Any]) -> bytes:
    """A valid record with a byte that cannot start or continue UTF-8 somewhere."""
    whole = draw(as_bytes(valid))
    at = draw(st.integers(0, len(whole)))
    bad = draw(st.sampled_from([b"\xff", b"\xc0", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80"]))
    return whole[:at] + bad + whole[at:]


def _nested(depth: int, bracket: bool, inside: bool) -> bytes:
    opener, closer = (b"[", b"]") if bracket else (b'{"a": ', b"}")
    nested = opener * depth + b"1" + closer * depth
    return b'{"event_id": "e", "payload": ' + nested + b"}" if inside else nested


def deeply_nested() -> st.SearchStrategy[bytes]:
    """Nesting past any parser's recursion limit, at the top or inside a known field."""
    return st.builds(
        _nested, st.sampled_from([1, 64, 255, 256, 1_000, 100_000]), st.booleans(), st.booleans()
    )


def not_objects(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """JSON that is valid but not an object."""
    return as_bytes(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(),
            st.text(max_size=20),
            st.lists(st.integers(), max_size=3),
            st.lists(valid, min_size=1, max_size=2),
        )
    )


def garbage(valid: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[bytes]:
    """Bytes that are no ``valid`` record (an envelope by default): truncated, random, not
    UTF-8, not an object, too deep."""
    valid = valid_envelopes() if valid is None else valid
    return st.one_of(
        truncated(valid),
        st.binary(max_size=200),
        not_utf8(valid),
        not_objects(valid),
        deeply_nested(),
        st.sampled_from([b"", b" ", b"{}", b"[]", b"\x00", b"\xef\xbb\xbf{}", b"NaN", b'{"a": NaN}']),
    )
