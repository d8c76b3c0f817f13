"""The Grafana dashboard's queries, read from its JSON, with Grafana's variables replaced."""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OBSERVABILITY = Path(__file__).parents[1] / "deploy" / "observability"
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "interaction-hub.json"

# What Grafana puts in for each variable the queries use: the default job names, every
# worker, and a rate window of four 15 s scrapes (the tests scrape every second).
VARIABLES = {"job": "hub", "api_job": "hub-api", "instance": ".*", "__rate_interval": "1m"}


@dataclass(frozen=True)
class Query:
    panel: str
    ref_id: str
    expr: str

    @property
    def promql(self) -> str:
        """The expression as Prometheus takes it; KeyError for a variable not in VARIABLES."""
        return re.sub(r"\$\{?(\w+)\}?", lambda match: VARIABLES[match.group(1)], self.expr)


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def queries() -> list[Query]:
    return [
        Query(panel["title"], target["refId"], target["expr"])
        for panel in panels()
        for target in panel["targets"]
    ]
