"""A picture of the Grafana dashboard's panels, drawn from a real Prometheus's answers.

The machines have Prometheus and Chromium but no Grafana, so this lays the panels out
on their grid as one HTML page (stat panels as their last value, time series as SVG
lines, one per series, labelled as the panel's legend would) and Chromium saves it as a
PNG (``make dashboard-picture``, docs/img/dashboard.png). It shows what each query
returned; colours, axes and units are simpler than Grafana's.
"""

import html
import json
import math
import re
import subprocess
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.dashboard import VARIABLES, dashboard

ROW_PX = 34
"""Height of one grid unit; Grafana's is 30 px plus margins."""
WIDTH_PX = 1600
COLOURS = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0"]

NO_DATA = "<div class=none>No data</div>"

Series = list[tuple[str, list[tuple[float, float]]]]
"""(legend label, [(unix time, value)]) per series of a panel."""


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    step_s: float = 2.0


def promql(expr: str) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda match: VARIABLES[match.group(1)], expr)


def prometheus_reader(url: str, window: Window) -> Callable[[str, str], Series]:
    """Series of ``expr`` over ``window``, labelled by ``legend`` ({{label}} filled in)."""

    def read(expr: str, legend: str) -> Series:
        query = urllib.parse.urlencode(
            {"query": promql(expr), "start": window.start, "end": window.end, "step": window.step_s}
        )
        with urllib.request.urlopen(f"{url}/api/v1/query_range?{query}", timeout=10) as answer:
            result = json.loads(answer.read())["data"]["result"]
        return [
            (
                _legend(legend, item["metric"]),
                [(float(at), float(value)) for at, value in item["values"] if math.isfinite(float(value))],
            )
            for item in result
        ]

    return read


def _legend(legend: str, labels: dict[str, str]) -> str:
    filled = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda match: labels.get(match.group(1), ""), legend)
    return filled.strip() or ", ".join(f"{k}={v}" for k, v in labels.items() if k != "__name__") or "value"


def page(read: Callable[[str, str], Series]) -> str:
    """The dashboard as one HTML page, each panel at its grid position."""
    board = dashboard()
    cells = [_panel(panel, read) for panel in board["panels"]]
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"]) * ROW_PX
    return (
        "<!doctype html><meta charset=utf-8><style>"
        "body{margin:0;background:#111217;color:#ccccdc;font:13px sans-serif}"
        f".board{{position:relative;width:{WIDTH_PX}px;height:{height}px;margin:8px}}"
        ".panel{position:absolute;box-sizing:border-box;padding:6px 8px;background:#181b1f;"
        "border:1px solid #2a2d33;border-radius:3px;overflow:hidden}"
        ".row{position:absolute;font-size:15px;font-weight:600;padding:6px 0}"
        ".title{font-weight:600;margin-bottom:4px}.stat{font-size:36px;font-weight:600;color:#73bf69}"
        ".legend{font-size:11px;line-height:14px}.legend span{margin-right:10px;white-space:nowrap}"
        ".none{color:#777;padding-top:20px}</style>"
        f"<h2 style='margin:8px'>{html.escape(board['title'])}</h2><div class=board>{''.join(cells)}</div>"
    )


def _panel(panel: dict[str, Any], read: Callable[[str, str], Series]) -> str:
    grid = panel["gridPos"]
    unit_px = WIDTH_PX / 24
    box = (
        f"left:{grid['x'] * unit_px:.0f}px;top:{grid['y'] * ROW_PX}px;"
        f"width:{grid['w'] * unit_px - 6:.0f}px;height:{grid['h'] * ROW_PX - 6}px"
    )
    title = html.escape(panel["title"])
    if panel["type"] == "row":
        return f"<div class=row style='{box}'>{title}</div>"
    series = [s for target in panel["targets"] for s in read(target["expr"], target.get("legendFormat", ""))]
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "none")
    if panel["type"] == "stat":
        last = [points[-1][1] for _, points in series if points]
        body = f"<div class=stat>{_format(sum(last), unit)}</div>" if last else NO_DATA
    else:
        body = _chart(series, unit, grid["w"] * unit_px - 24, grid["h"] * ROW_PX - 70)
    return f"<div class=panel style='{box}'><div class=title>{title}</div>{body}</div>"


def _chart(series: Series, unit: str, width: float, height: float) -> str:
    points = [point for _, values in series for point in values]
    if not points:
        return NO_DATA
    first, last = min(t for t, _ in points), max(t for t, _ in points)
    top = max(max(v for _, v in points), 1e-9)
    span = max(last - first, 1.0)

    def xy(at: float, value: float) -> str:
        return f"{(at - first) / span * width:.1f},{height - value / top * height:.1f}"

    lines = "".join(
        f"<polyline fill=none stroke='{COLOURS[i % len(COLOURS)]}' stroke-width=1.5 "
        f"points='{' '.join(xy(t, v) for t, v in values)}'/>"
        for i, (_, values) in enumerate(series)
    )
    legend = "".join(
        f"<span style='color:{COLOURS[i % len(COLOURS)]}'>&#9644; {html.escape(label)}</span>"
        for i, (label, _) in enumerate(series)
    )
    axis = f"<text x=2 y=10 fill='#8e8e8e' font-size=10>{_format(top, unit)}</text>"
    return (
        f"<svg width={width:.0f} height={height:.0f} style='border-bottom:1px solid #333'>{axis}{lines}</svg>"
        f"<div class=legend>{legend}</div>"
    )


def _format(value: float, unit: str) -> str:
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "reqps":
        return f"{value:.2f}/s" if value < 10 else f"{value:.0f}/s"
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def screenshot(document: str, png: Path, chromium: Path) -> None:
    """Save ``document`` as ``png`` with headless Chromium."""
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard()["panels"])
    with tempfile.TemporaryDirectory(prefix="dashboard-picture-") as folder:
        source = Path(folder) / "dashboard.html"
        source.write_text(document)
        png.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                str(chromium),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={folder}/profile",
                f"--window-size={WIDTH_PX + 16},{rows * ROW_PX + 70}",
                f"--screenshot={png.resolve()}",
                source.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
