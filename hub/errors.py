"""One error hierarchy for the hub.

Each error says whether retrying can help, so a caller decides between retry and
dead-letter by type. Driver exceptions (asyncpg, aiokafka) are converted where they
enter the hub (``raise StoreUnavailable(...) from exc``) and never caught deeper in.
"""


class HubError(Exception):
    """Root of every error the hub raises on purpose."""

    retriable: bool = False


class ConfigError(HubError):
    """A setting is missing or wrong; the message names the setting and the fix."""


class ServiceUnavailable(HubError):
    """A service the hub needs does not answer; retrying later may help."""

    retriable = True


class BrokerUnavailable(ServiceUnavailable):
    """The Kafka broker cannot be reached."""


class StoreUnavailable(ServiceUnavailable):
    """PostgreSQL cannot be reached or refused the connection."""


class StoreConflict(ServiceUnavailable):
    """Another worker's transaction took what this one meant to (a group-level cap's
    claim) first; deciding the batch again, with that claim loaded, settles it."""


class StoreError(HubError):
    """PostgreSQL answered with an error that retrying will not fix (schema, constraint)."""


class InfraError(HubError):
    """Local infrastructure (the bundled Kafka or PostgreSQL) could not be set up."""
