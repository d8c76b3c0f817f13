"""The picture of the dashboard's panels places every panel and draws what Prometheus returned."""

from tests.dashboard import dashboard
from tests.dashboard_picture import Series, _format, page


def test_every_panel_is_drawn_with_its_series_or_says_it_has_no_data() -> None:
    asked: list[str] = []

    def read(expr: str, legend: str) -> Series:
        asked.append(expr)
        if "hub_events_consumed_total" not in expr:
            return []
        return [(legend.replace("{{channel}}", "teller"), [(0.0, 1.0), (10.0, 3.0)])]

    document = page(read)
    panels = dashboard()["panels"]
    for panel in panels:
        assert f">{panel['title']}<" in document
    targets = [target["expr"] for panel in panels for target in panel.get("targets", [])]
    assert asked == targets, "each query read once, in the dashboard's order"
    assert "teller" in document and "<polyline" in document
    with_data = [
        panel
        for panel in panels
        if any("hub_events_consumed_total" in t["expr"] for t in panel.get("targets", []))
    ]
    assert with_data, "the dashboard has an intake panel"
    assert document.count("No data") == len([p for p in panels if p["type"] != "row"]) - len(with_data)


def test_values_are_shown_in_the_panels_units() -> None:
    assert _format(0.0213, "percentunit") == "2.1%"
    assert _format(0.942, "s") == "942 ms"
    assert _format(3.5, "s") == "3.50 s"
    assert _format(42.4, "reqps") == "42/s"
    assert _format(7.0, "none") == "7"
