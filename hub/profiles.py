"""Customer profiles from CRM: keep the newest of each customer."""

from datetime import datetime

from schemas.profile import CustomerProfile


def is_newer(stored: bytes | None, updated_at: datetime) -> bool:
    """A compacted topic replayed out of order must not roll a profile back."""
    if stored is None:
        return True
    return CustomerProfile.model_validate_json(stored).updated_at <= updated_at


_MERGED = b'"merged_into":"'


def merged_into_of(stored: bytes | None) -> str | None:
    """The id a stored profile was merged into. Every event asks, so the common answer
    (not merged) comes from a byte search instead of parsing the profile."""
    if stored is None or _MERGED not in stored:
        return None
    return CustomerProfile.model_validate_json(stored).merged_into
