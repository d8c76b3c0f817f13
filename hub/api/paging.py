"""Opaque page cursors: the last item's time and id, urlsafe base64 of a JSON pair.

Clients pass them back as they got them; the API only promises that a cursor it gave
out continues where that page ended.
"""

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import HTTPException, Query
from pydantic import AwareDatetime, BeforeValidator

from hub.storage.customer_reads import Position

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page.")]
Cursor = Annotated[
    str | None, Query(min_length=1, description="`next_cursor` of the previous page, as it was given.")
]


def encode_cursor(at: datetime, item_id: str) -> str:
    raw = json.dumps([at.isoformat(), item_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Position | None:
    """The position a cursor names; 422 when it is not one this API gave out."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, item_id = json.loads(raw)
        position = (datetime.fromisoformat(at), item_id)
    except (binascii.Error, ValueError, TypeError):
        raise HTTPException(422, "query.cursor: not a cursor this API gave out") from None
    if position[0].tzinfo is None or not isinstance(item_id, str):
        raise HTTPException(422, "query.cursor: not a cursor this API gave out")
    return position


def _not_a_number(value: Any) -> Any:
    # pydantic takes a number for seconds since 1970; the document promises RFC 3339.
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("an RFC 3339 timestamp with an offset, not a number")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]
"""An RFC 3339 timestamp with an offset."""
