"""Topic names of the public contract, in one place.

Every name is used through :func:`hub.settings.Settings.topic`, which prepends the
configured ``HUB_TOPIC_PREFIX`` so that environments and tests stay isolated.
"""

from typing import Final

INTERACTIONS_TELLER: Final = "interactions.teller"
INTERACTIONS_PHONE: Final = "interactions.phone"
INTERACTIONS_WEB: Final = "interactions.web"
INTERACTIONS_BRANCH: Final = "interactions.branch"
CUSTOMERS_PROFILE: Final = "customers.profile"
TRIGGERS_OUTCOMES: Final = "triggers.outcomes"
TRIGGERS_CROSS_SELL: Final = "triggers.cross_sell"
TRIGGERS_CARE: Final = "triggers.care"
INTERACTIONS_DLQ: Final = "interactions.dlq"

# Internal: validated interactions re-keyed by customer_id, so that one worker sees all
# of a customer's events in order. Not part of the contract.
INTERACTIONS_ACCEPTED: Final = "hub.interactions.accepted"
# Internal: valid interactions that name no customer_id, keyed by the keyed hash of their
# identifier, so that one worker resolves all events of one identifier in order.
INTERACTIONS_UNRESOLVED: Final = "hub.interactions.unresolved"

CHANNEL_TOPICS: Final[dict[str, str]] = {
    "teller": INTERACTIONS_TELLER,
    "phone": INTERACTIONS_PHONE,
    "web": INTERACTIONS_WEB,
    "branch": INTERACTIONS_BRANCH,
}
