"""The Grafana dashboard's queries, with Grafana's variables replaced, ready for Prometheus."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
# The values of the variables the dashboard uses, for a Prometheus scraping every second: a
# rate over at least four scrapes, as Grafana computes $__rate_interval; the data source is
# chosen in Grafana, never part of a query.
VALUES_FOR_1S_SCRAPES = {"__rate_interval": "15s", "datasource": ""}


@dataclass(frozen=True)
class Query:
    panel: str
    ref: str
    expr: str


def queries(path: Path) -> list[Query]:
    """Every query of every panel (rows hold none), in the order of the dashboard."""
    dashboard = json.loads(path.read_text())
    found = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            found.append(Query(panel["title"], target["refId"], target["expr"]))
    return found


def panels(dashboard: dict) -> list[dict]:
    """The panels that show data: every panel but rows, including those inside a collapsed row."""
    flat = []
    for panel in dashboard["panels"]:
        flat.extend(panel.get("panels", []))
        if panel["type"] != "row":
            flat.append(panel)
    return flat


def for_prometheus(expr: str, values: dict[str, str]) -> str:
    """`expr` with each Grafana variable replaced by its value in `values`; a variable without a
    value is an error (a new one must be given a value here, not sent to Prometheus as it is)."""

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no value for the Grafana variable ${name} in {expr!r}")
        return values[name]

    return VARIABLE.sub(value, expr)
