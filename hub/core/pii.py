"""Personal data that must never be stored or logged in plain form.

Card, phone and account numbers are kept as a keyed hash (HMAC-SHA256) that identity
resolution can match on, plus a masked form a person can recognise. The hash names its key
(``k1:…``) so that keys can be rotated: new values use the current key, lookups try
every key still configured.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from schemas.interaction import CustomerRef

PROTECTED_IDENTIFIERS = ("account_no", "card_no", "phone")


def mask(value: str, visible: int = 4) -> str:
    """``"6222021234567890"`` -> ``"************7890"``; short values are masked whole."""
    if len(value) <= visible:
        return "*" * len(value)
    return "*" * (len(value) - visible) + value[-visible:]


_SEPARATORS = re.compile(r"[\s\-().]")


def normalised(kind: str, value: str) -> str:
    """One spelling per identifier: channels write numbers with spaces, dashes, dots or
    brackets (``+86 (139) 7777-4321``); logins differ only by surrounding blanks. A number
    in national form (``13977774321``) still differs from its international form."""
    if kind == "web_user":
        return value.strip()
    if value.isdigit() or (value[:1] == "+" and value[1:].isdigit()):
        return value  # already in one spelling: no separator to take out
    return _SEPARATORS.sub("", value)


@dataclass(frozen=True, slots=True)
class Hasher:
    key_id: str
    key: bytes

    def digest(self, kind: str, value: str) -> str:
        """``"k1:…"``: the same kind and value give the same digest under the same key."""
        mac = hmac.new(self.key, f"{kind}:{normalised(kind, value)}".encode(), hashlib.sha256).hexdigest()
        return f"{self.key_id}:{mac}"

    def protect(self, kind: str, value: str) -> dict[str, str]:
        return {"hash": self.digest(kind, value), "masked": mask(value)}


IDENTIFIER_KINDS = ("account_no", "card_no", "phone", "web_user")


def display_form(kind: str, value: str) -> str:
    """What a person may see of an identifier: web logins as they are, numbers masked."""
    return value if kind == "web_user" else mask(value)


@dataclass(frozen=True, slots=True)
class Keyring:
    """The current key, for new hashes, and the keys still accepted for lookups."""

    current: Hasher
    previous: tuple[Hasher, ...] = ()

    def lookup_keys(self, kind: str, value: str) -> list[str]:
        """Every digest the identifier may be stored under, the current key's first."""
        return [hasher.digest(kind, value) for hasher in (self.current, *self.previous)]


def protected_identifiers(ref: CustomerRef, hasher: Hasher) -> dict[str, Any]:
    """The channel identifiers of an event, safe to store: card, phone and account numbers
    as a keyed hash and a masked form; web logins as they are."""
    identifiers = ref.model_dump(exclude={"customer_id"}, exclude_none=True)
    for kind in PROTECTED_IDENTIFIERS:
        if kind in identifiers:
            identifiers[kind] = hasher.protect(kind, identifiers[kind])
    return identifiers


def display_identifiers(stored: dict[str, Any]) -> dict[str, str]:
    """What a person may see of an event's stored identifiers: masked numbers, never a hash.

    Protected kinds are stored as ``{"hash", "masked"}``; events recorded before account
    numbers were protected hold them plain, so those are masked here.
    """
    shown = {}
    for kind, value in stored.items():
        if isinstance(value, dict):
            if isinstance(value.get("masked"), str):
                shown[kind] = value["masked"]
        elif kind in PROTECTED_IDENTIFIERS:
            shown[kind] = mask(str(value))
        else:
            shown[kind] = str(value)
    return shown
