"""Customer profiles from CRM: keep the newest of each customer."""

from datetime import datetime

from schemas.profile import CustomerProfile, Identifiers


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


def without_personal_numbers(profile: CustomerProfile) -> CustomerProfile:
    """The profile as the workers' profile table keeps it: no identifiers and no
    organisation code, which no rule reads (the table is a changelog topic and files)."""
    hot = profile.model_copy(update={"identifiers": Identifiers()})
    if profile.corporate is not None and profile.corporate.organisation_code is not None:
        corporate = profile.corporate.model_copy(update={"organisation_code": None})
        hot = hot.model_copy(update={"corporate": corporate})
    return hot
