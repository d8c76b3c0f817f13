"""The rules in force, reloaded when their file changes; a bad file never replaces a good one."""

import logging
from pathlib import Path

from hub import metrics
from hub.core.rules.spec import RuleSpec
from hub.errors import ConfigError
from hub.rules.loading import LoadedRules, read_rules

log = logging.getLogger(__name__)


class RuleBook:
    """Holds the current rule set. ``reload_if_changed`` is cheap: one ``stat`` a call."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        loaded = read_rules(path)  # at start a bad file is an error, not a warning
        self._rules = loaded.rules.rules
        self._mtime = self._modified()
        _announce(loaded)

    @property
    def rules(self) -> list[RuleSpec]:
        return self._rules

    def reload_if_changed(self) -> bool:
        """Load the file again if it changed; True if new rules are now in force."""
        modified = self._modified()
        if modified == self._mtime:
            return False
        self._mtime = modified
        try:
            loaded = read_rules(self._path)
        except ConfigError as exc:
            metrics.RULES_RELOADED.labels("rejected").inc()
            log.error("rule file rejected, the previous rules stay in force: %s", exc)
            return False
        self._rules = rules = loaded.rules.rules
        _announce(loaded)
        metrics.RULES_RELOADED.labels("loaded").inc()
        log.info("rules reloaded from %s: %s", self._path, ", ".join(f"{r.id} v{r.version}" for r in rules))
        return True

    def _modified(self) -> float | None:
        if self._path is None:
            return None
        try:
            return self._path.stat().st_mtime_ns / 1e9
        except OSError:
            return None


def _announce(loaded: LoadedRules) -> None:
    metrics.rules_loaded(loaded.rules.rules, sha256=loaded.sha256, source=loaded.source)
