"""The live test: the release binaries (Service A's pod against a fake exchange, and api-b),
Debian's Prometheus scraping them every second with the repository's jobs and alert rules
(durations shortened, see `rendering`), and a steady trickle of requests. Checked through
Prometheus's HTTP API, in this order: every target up and every rule healthy; each service's
`/metrics` passes `promtool check metrics` and is documented in the metrics table of
docs/operations.md; no alert while all is well; the price-stale and price-store-unavailable
alerts firing when the fake exchange stops or Redis is killed, and resolving when they return
(timed, the table printed at the end and written to target/observability/report.md); no alert
once all is back; every dashboard query returning data.

`OBSERVABILITY_LONG=1` also drills the other alerts live (a few minutes more); `BINARY_DIR=DIR`
uses binaries already built in DIR.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import httpclient
from harness.pod import ServiceAPod
from harness.probe import Prober
from harness.prometheus_server import PrometheusServer
from harness.services import Service
from harness.waiting import NotInTime, eventually

from observability import dashboard, documentation, faults, rendering
from observability.faults import FaultReport
from observability.long_mode import long_drills

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = rendering.SHIPPED
# Scrapes and rule evaluations every second; the poller ticks every second.
INTERVAL = "1s"
# Every alert duration divided by this: 1m -> 5s, 10m -> 50s, 15m -> 75s.
SHORTEN = 12
# The shortest duration after shortening: a range must hold several scrapes.
SHORTEST_SECONDS = 5
PRICES = {"coinbase": 80_000.0, "kraken": 80_010.0, "bitstamp": 80_020.0}
# Long enough for the slowest alert of the long mode (ProvidersDisagree: a 75 s window half
# filled, then 25 s pending); the CI faults fire within seconds.
FAULT_TIMEOUT = 120.0
QUIET_SECONDS = 5.0
JOBS = ("api-a", "poller", "api-b")
LONG = os.environ.get("OBSERVABILITY_LONG") == "1"


@dataclass
class Live:
    pod: ServiceAPod
    api_b: Service
    targets: dict[str, Service]
    prometheus: PrometheusServer
    reports: list[FaultReport] = field(default_factory=list)


@pytest.fixture(scope="module")
def live(binaries, start_pod, start_api_b, start_prometheus, started, workdir, report) -> Live:
    pod = start_pod(PRICES, poll_interval=INTERVAL)
    api_b = start_api_b()
    targets = {"api-a": pod.api, "poller": pod.poller, "api-b": api_b}
    config = render_config(workdir, {job: f"127.0.0.1:{s.port}" for job, s in targets.items()})
    prometheus = start_prometheus(config)
    for url in (pod.api.url("/service1/current"), pod.api.url("/service1/average"), api_b.url("/service2/")):
        started.enter_context(Prober(url, every=0.1))
    started.enter_context(Prober(api_b.url("/service2/no-such-route"), every=0.5))
    live = Live(pod, api_b, targets, prometheus)
    yield live
    table = faults.table(live.reports)
    (workdir / "report.md").write_text(table + "\n")
    report.add("observability: alerts", table)


def render_config(workdir: Path, targets: dict[str, str]) -> Path:
    """The shipped config and rules as the live test runs them (see `rendering`), checked by
    promtool like the shipped ones."""
    rules = rendering.shortened_rules(rendering.load(SHIPPED / "alerts.yaml"), SHORTEN, SHORTEST_SECONDS)
    rule_file = rendering.write(workdir / "alerts.live.yaml", rules)
    config = rendering.scrape_config(rendering.load(SHIPPED / "prometheus.yml"), targets, INTERVAL, rule_file)
    config_file = rendering.write(workdir / "prometheus.live.yml", config)
    subprocess.run(["promtool", "check", "config", str(config_file)], check=True, stdout=subprocess.DEVNULL)
    return config_file


def test_every_target_is_up_and_every_rule_healthy(live: Live):
    def all_up():
        found = live.prometheus.targets()
        return {t["labels"]["job"] for t in found} == set(JOBS) and all(t["health"] == "up" for t in found) and found

    try:
        eventually(all_up, 20, "every target scraped and up")
    except NotInTime as err:
        found = [(t["labels"]["job"], t["health"], t["lastError"]) for t in live.prometheus.targets()]
        raise AssertionError(f"{err}: {found}") from None

    def evaluated():
        rules = live.prometheus.alerting_rules()
        return rules if rules and all(r["health"] != "unknown" for r in rules) else None

    rules = eventually(evaluated, 10, "every rule evaluated once")
    shipped = {r["alert"] for g in rendering.load(SHIPPED / "alerts.yaml")["groups"] for r in g["rules"]}
    assert {r["name"] for r in rules} == shipped
    assert [f"{r['name']}: {r['health']} {r.get('lastError', '')}" for r in rules if r["health"] != "ok"] == []


@pytest.mark.parametrize("job", JOBS)
def test_every_metric_passes_promtool_and_is_in_the_metrics_table(live: Live, job: str):
    documented = documentation.metrics_table(documentation.load_page(ROOT))
    text = httpclient.get(live.targets[job].url("/metrics")).body.decode()
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    problems = [] if lint.returncode == 0 else [f"promtool check metrics: {lint.stdout}{lint.stderr}"]
    for name, exposed in documentation.exposed_families(text).items():
        row = documented.get(name)
        if row is None:
            problems.append(f"{job} exports {name}, which the metrics table of docs/operations.md lacks")
            continue
        if row.type != exposed.type:
            problems.append(f"{name}: docs/operations.md says {row.type}, {job} exports a {exposed.type}")
        if row.labels != exposed.labels:
            problems.append(f"{name}: docs/operations.md says labels {sorted(row.labels)}, {job} has {sorted(exposed.labels)}")
    assert problems == []


def test_no_alert_while_all_is_well(live: Live):
    quiet(live.prometheus)


def answer_again(pod: ServiceAPod) -> None:
    for provider in pod.exchange.providers:
        pod.exchange.answer_ok(provider)


# Each fault: the alerts it must fire, then how it is injected and repaired (from the live
# services); the long mode's come from `long_mode`.
FAULTS = {
    "fake exchange stopped": (["PriceStale", "AllProvidersFailing"], lambda live: (live.pod.exchange.stop, lambda: answer_again(live.pod))),
    "Redis killed (SIGKILL)": (["PriceStoreUnavailable", "PriceStoreWritesFailing"], lambda live: (live.pod.redis.kill, live.pod.redis.start)),
}  # fmt: skip


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_fires_its_alerts_which_resolve_once_it_is_repaired(live: Live, fault: str):
    expected, actions = FAULTS[fault]
    inject, repair = actions(live)
    check_drill(live, faults.drill(live.prometheus, fault, expected, inject, repair, FAULT_TIMEOUT))


@pytest.mark.skipif(not LONG, reason="the long mode (OBSERVABILITY_LONG=1) fires every other alert live")
def test_every_other_alert_fires_on_its_fault_and_resolves(live: Live, binaries, workdir, started):
    problems = []
    for fault, expected, inject, repair in long_drills(live.pod, live.api_b, binaries, workdir, started):
        report = faults.drill(live.prometheus, fault, expected, inject, repair, FAULT_TIMEOUT)
        live.reports.append(report)
        problems += report.problems
    assert problems == []


def check_drill(live: Live, report: FaultReport) -> None:
    live.reports.append(report)
    assert report.problems == [], "\n".join(str(times) for times in report.alerts.values())


def test_no_alert_once_everything_is_back(live: Live):
    quiet(live.prometheus)


@pytest.mark.parametrize("query", dashboard.queries(SHIPPED / "grafana-dashboard.json"), ids=lambda q: f"{q.panel} ({q.ref})")
def test_every_dashboard_query_returns_data(live: Live, query: dashboard.Query):
    expr = dashboard.for_prometheus(query.expr, dashboard.VALUES_FOR_1S_SCRAPES)
    assert len(live.prometheus.query(expr)) > 0, f"panel {query.panel!r} ({query.ref}) has no data: {expr}"


def quiet(prometheus: PrometheusServer) -> None:
    """No alert active, pending or firing, for QUIET_SECONDS in a row (within a minute)."""
    calm_since = [time.monotonic()]

    def calm_long_enough() -> bool:
        if faults.active(prometheus):
            calm_since[0] = time.monotonic()
        return time.monotonic() - calm_since[0] >= QUIET_SECONDS

    try:
        eventually(calm_long_enough, 60, f"no alert for {QUIET_SECONDS:g} s", every=faults.POLL_SECONDS)
    except NotInTime as err:
        raise AssertionError(f"{err}; active: {faults.active(prometheus)}") from None
