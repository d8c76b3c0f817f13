"""Customer profiles from CRM: keep the newest of each customer."""

from datetime import datetime

from schemas.profile import CustomerProfile


def is_newer(stored: bytes | None, updated_at: datetime) -> bool:
    """A compacted topic replayed out of order must not roll a profile back."""
    if stored is None:
        return True
    return CustomerProfile.model_validate_json(stored).updated_at <= updated_at
