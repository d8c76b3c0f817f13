"""Reading the rule file; a bad file is reported by rule and field and never replaces a good one."""

from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from hub.core.rules.spec import RuleFile
from hub.errors import ConfigError

DEFAULT_RULES = "default.yaml"


def default_rules_text() -> str:
    return resources.files("hub.rules").joinpath(DEFAULT_RULES).read_text()


def parse_rules(text: str, *, source: str) -> RuleFile:
    """Validate a rule file's text; ConfigError names the rule (by id) and the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    try:
        return RuleFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"{source}: " + "; ".join(_describe(data, e["loc"], e["msg"]) for e in exc.errors())
        ) from None


def load_rules(path: Path | None) -> RuleFile:
    if path is None:
        return parse_rules(default_rules_text(), source="default rules")
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"HUB_RULES_FILE={path}: cannot read it ({exc.strerror})") from None
    return parse_rules(text, source=str(path))


def _describe(data: object, loc: tuple[int | str, ...], message: str) -> str:
    where = ".".join(str(part) for part in loc)
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        try:
            rule_id = data["rules"][loc[1]].get("id", f"#{loc[1] + 1}")
        except (IndexError, AttributeError, KeyError, TypeError):
            rule_id = f"#{loc[1] + 1}"
        where = f"rule {rule_id}: " + ".".join(str(part) for part in loc[2:])
    return f"{where}: {message}"
