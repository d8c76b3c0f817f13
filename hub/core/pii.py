"""Personal data that must never be stored or logged in plain form."""

from typing import Any

from schemas.interaction import CustomerRef

MASKED_IDENTIFIERS = ("card_no", "phone")


def mask(value: str, visible: int = 4) -> str:
    """``"6222021234567890"`` -> ``"************7890"``; short values are masked whole."""
    if len(value) <= visible:
        return "*" * len(value)
    return "*" * (len(value) - visible) + value[-visible:]


def masked_identifiers(ref: CustomerRef) -> dict[str, Any]:
    """The channel identifiers of an event, safe to store: card and phone numbers masked."""
    identifiers = ref.model_dump(exclude={"customer_id"}, exclude_none=True)
    for key in MASKED_IDENTIFIERS:
        if key in identifiers:
            identifiers[key] = mask(identifiers[key])
    return identifiers
