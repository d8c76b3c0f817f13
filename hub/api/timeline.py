"""One stored interaction as the API shows it: identifiers in display form only."""

from dataclasses import asdict

from hub.api.models import TimelineItem
from hub.core.pii import display_identifiers
from hub.storage import customer_reads as stored


def timeline_item(row: stored.InteractionRecord) -> TimelineItem:
    return TimelineItem(**{**asdict(row), "identifiers": display_identifiers(row.identifiers)})
