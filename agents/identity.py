"""How the worker's stages tell who an event is about: PostgreSQL's identifier index for
channel identifiers, the profile table for merges."""

from collections.abc import Callable, Sequence

from hub.ingest import Identity
from hub.profiles import merged_into_of
from hub.runtime import Runtime


def identity_of(runtime: Runtime, profiles: Callable[[str], bytes | None]) -> Identity:
    async def owners(keys: Sequence[str]) -> dict[str, str]:
        store = await runtime.store()
        return await store.owners_of(keys)

    return Identity(runtime.settings.require_pii_keyring(), owners, lambda c: merged_into_of(profiles(c)))
