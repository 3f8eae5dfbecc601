"""The compose profile for real, read through its Prometheus (test_compose.py brings it up with
the stack suite's fake upstream): which targets are up, whether every rule was evaluated, and
the price scraped from the poller inside pod A."""

from __future__ import annotations

from harness.prometheus_server import PrometheusApi


def all_up(prometheus: PrometheusApi, jobs: set[str]) -> set[str] | None:
    targets = prometheus.targets()
    found = {t["labels"]["job"] for t in targets if t["health"] == "up"}
    return found if found == jobs and len(targets) == len(jobs) else None


def evaluated(prometheus: PrometheusApi) -> list[dict] | None:
    rules = prometheus.alerting_rules()
    return rules if rules and all(r["health"] != "unknown" for r in rules) else None


def scraped_price(prometheus: PrometheusApi, served: float) -> float | None:
    values = [float(sample["value"][1]) for sample in prometheus.query("poller_last_price_usd")]
    return values[0] if len(values) == 1 and abs(values[0] - served) < 0.005 else None
