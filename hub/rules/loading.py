"""Reading the rule file; a bad file is reported by rule and field and never replaces a good one."""

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from hub.core.rules.spec import RuleFile
from hub.errors import ConfigError

DEFAULT_RULES = "default.yaml"
DEFAULT_SOURCE = "default rules"


def default_rules_text() -> str:
    return resources.files("hub.rules").joinpath(DEFAULT_RULES).read_text()


@dataclass(frozen=True, slots=True)
class LoadedRules:
    """A validated rule file, with where it came from and the digest of its text."""

    rules: RuleFile
    source: str
    sha256: str
    """The first 16 hex digits of the SHA-256 of the file's text (hub_rules_info)."""


def parse_rules(text: str, *, source: str) -> RuleFile:
    """Validate a rule file's text; ConfigError names the rule (by id) and the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {_yaml_problem(exc)}") from None
    try:
        return RuleFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"{source}: " + "; ".join(_describe(data, e["loc"], e["msg"]) for e in exc.errors())
        ) from None


def load_rules(path: Path | None, *, setting: str | None = "HUB_RULES_FILE") -> RuleFile:
    """The rules of ``path`` (the shipped ones when None). ``setting`` names where the path
    came from, for the message when it cannot be read; None for a command-line argument."""
    return read_rules(path, setting=setting).rules


def read_rules(path: Path | None, *, setting: str | None = "HUB_RULES_FILE") -> LoadedRules:
    if path is None:
        text, source = default_rules_text(), DEFAULT_SOURCE
    else:
        try:
            text = path.read_text()
        except OSError as exc:
            named = f"{setting}={path}" if setting else str(path)
            fix = f"point {setting} at a readable rule file, or unset it for the shipped rules"
            raise ConfigError(
                f"{named}: cannot read it ({exc.strerror}): "
                + (fix if setting else "give the path of a readable rule file")
            ) from None
        source = str(path)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return LoadedRules(parse_rules(text, source=source), source, digest)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """The parser's complaint with its line and column in the file, on one line (PyYAML
    names the stream ``<unicode string>``, which says nothing to the file's author)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        context = f" ({exc.context})" if exc.context else ""
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}{context}"
    return " ".join(str(exc).split())


def _describe(data: object, loc: tuple[int | str, ...], message: str) -> str:
    where = ".".join(str(part) for part in loc)
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        try:
            rule_id = data["rules"][loc[1]].get("id", f"#{loc[1] + 1}")
        except (IndexError, AttributeError, KeyError, TypeError):
            rule_id = f"#{loc[1] + 1}"
        where = f"rule {rule_id}: " + ".".join(str(part) for part in loc[2:])
    return f"{where}: {message}"
