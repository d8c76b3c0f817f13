"""The contact policy: may a proposed trigger go out, and through which channel?

This issue covers consent, consented channels, care-first while a complaint is open and
a per-rule cooldown; frequency caps, quiet hours, arbitration and the control group
extend it later.
"""

from dataclasses import dataclass
from datetime import datetime

from hub.core.drafts import TriggerDraft
from hub.core.state import CustomerState
from schemas.profile import CustomerProfile
from schemas.trigger import SALES_KINDS, ContactChannel


@dataclass(frozen=True, slots=True)
class Verdict:
    channel: ContactChannel | None
    suppressed_by: str | None = None

    @property
    def allowed(self) -> bool:
        return self.suppressed_by is None


def judge(
    draft: TriggerDraft, state: CustomerState, profile: CustomerProfile | None, event_time: datetime
) -> Verdict:
    """Apply the policy to ``draft``; the verdict names the policy that stopped it, if any."""
    sales = draft.kind in SALES_KINDS
    if sales and profile is None:
        return Verdict(None, "no_profile: consent is unknown without a customer profile")
    if sales and profile is not None and not profile.consents.marketing:
        return Verdict(None, "consent: the customer has not consented to marketing")
    if sales and state.open_complaints:
        return Verdict(None, "complaint_open: care first while a complaint is open")
    last = state.last_fired.get(draft.rule.id)
    if draft.cooldown is not None and last is not None and event_time < last + draft.cooldown:
        return Verdict(None, f"cooldown: {draft.rule.id} fired for this customer at {last.isoformat()}")
    channel = first_consented_channel(draft.channels, profile)
    if channel is None:
        return Verdict(None, "channel_consent: no recommended channel is consented to")
    return Verdict(channel)


def first_consented_channel(
    preferred: tuple[ContactChannel, ...], profile: CustomerProfile | None
) -> ContactChannel | None:
    """The first channel the customer allows; web and branch need no outbound consent."""
    for channel in preferred:
        if channel in ("web", "branch"):
            return channel
        if profile is None:
            # Without a profile only care reaches this point; answer on the phone line
            # the customer used rather than guess at a consent we do not know.
            return "phone" if channel == "phone" else None
        if getattr(profile.consents, channel):
            return channel
    return None
