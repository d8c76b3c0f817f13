"""Reloading the rule file while the worker runs."""

import faust

from hub.rules.book import RuleBook


def register_rule_reloads(app: faust.App, rulebook: RuleBook, every_seconds: float) -> None:
    @app.timer(interval=every_seconds)  # type: ignore[untyped-decorator]
    async def reload_rules() -> None:
        rulebook.reload_if_changed()
