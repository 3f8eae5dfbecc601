"""The live test: `PYTHONPATH=tests python3 -m observability` (tests/run observability).

The release binaries (Service A's pod against a fake exchange, and api-b), Debian's Prometheus
scraping them every second with the repository's jobs and alert rules (durations shortened, see
`rendering`), and a steady trickle of requests. Checked through Prometheus's HTTP API: every
target up and every rule healthy; no alert while all is well; the price-stale and
price-store-unavailable alerts firing when the fake exchange stops or Redis is killed, and
resolving when they return (timed); every dashboard query returning data. Each service's
`/metrics` passes `promtool check metrics` and is documented in the metrics table of docs/operations.md.

Environment: `OBSERVABILITY_LONG=1` also drills the other alerts live (a few minutes more);
`OBSERVABILITY_BINARY_DIR=DIR` uses binaries already built in DIR. Exits 1 on any failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness import binaries, httpclient, services
from harness.pod import ServiceAPod
from harness.probe import Prober
from harness.waiting import NotInTime, eventually

from . import dashboard, documentation, faults, rendering
from .faults import FaultReport
from .long_mode import long_drills
from .prometheus_server import PrometheusServer

ROOT = binaries.REPO_ROOT
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


class Problems(list):
    def check(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.append(problem)
            print(f"    FAILED: {problem}", flush=True)
        return condition


def step(title: str) -> None:
    print(f"\n==> {title}", flush=True)


def main() -> int:
    binary_dir = os.environ.get("OBSERVABILITY_BINARY_DIR")
    built = binaries.locate(Path(binary_dir)) if binary_dir else binaries.build_release()
    workdir = ROOT / "target" / "observability"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    problems = Problems()
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        pod = stack.enter_context(ServiceAPod(built, workdir, PRICES, poll_interval=INTERVAL).start())
        api_b = stack.enter_context(services.start_api_b(built, workdir))
        assert pod.api is not None and pod.poller is not None
        targets = {"api-a": pod.api, "poller": pod.poller, "api-b": api_b}
        prometheus = stack.enter_context(
            PrometheusServer(workdir, render_config(workdir, {job: f"127.0.0.1:{s.port}" for job, s in targets.items()}))
        )
        for url in (pod.api.url("/service1/current"), pod.api.url("/service1/average"), api_b.url("/service2/")):
            stack.enter_context(Prober(url, every=0.1))
        stack.enter_context(Prober(api_b.url("/service2/no-such-route"), every=0.5))

        step("every target up, every rule healthy")
        check_targets(prometheus, set(targets), problems)
        step("every metric passes promtool check metrics and is in the table of docs/operations.md")
        check_expositions({job: s.url("/metrics") for job, s in targets.items()}, problems)
        step(f"no alert while all is well ({QUIET_SECONDS:g} s in a row)")
        quiet(prometheus, problems)

        step("faults")
        reports = [
            drill(prometheus, "fake exchange stopped", ["PriceStale", "AllProvidersFailing"],
                  pod.exchange.stop, lambda: answer_again(pod)),
            drill(prometheus, "Redis killed (SIGKILL)", ["PriceStoreUnavailable", "PriceStoreWritesFailing"],
                  pod.redis.kill, pod.redis.start),
        ]  # fmt: skip
        if os.environ.get("OBSERVABILITY_LONG") == "1":
            reports += [drill(prometheus, *args) for args in long_drills(pod, api_b, built, workdir, stack)]
        for report in reports:
            problems.extend(report.problems)
        step("no alert once everything is back")
        quiet(prometheus, problems)

        step("every dashboard query returns data")
        check_dashboard(prometheus, problems)

    report = faults.table(reports)
    print(f"\n{report}\n", flush=True)
    (workdir / "report.md").write_text(report + "\n")
    print(f"observability live test: {time.monotonic() - started:.0f} s; logs in {workdir}", flush=True)
    if problems:
        print(f"\n{len(problems)} problem(s):", *(f"- {p}" for p in problems), sep="\n")
        return 1
    return 0


def answer_again(pod: ServiceAPod) -> None:
    for provider in pod.exchange.providers:
        pod.exchange.answer_ok(provider)


def render_config(workdir: Path, targets: dict[str, str]) -> Path:
    """The shipped config and rules as the live test runs them (see `rendering`), checked by
    promtool like the shipped ones."""
    rules = rendering.shortened_rules(rendering.load(SHIPPED / "alerts.yaml"), SHORTEN, SHORTEST_SECONDS)
    rule_file = rendering.write(workdir / "alerts.live.yaml", rules)
    config = rendering.scrape_config(rendering.load(SHIPPED / "prometheus.yml"), targets, INTERVAL, rule_file)
    config_file = rendering.write(workdir / "prometheus.live.yml", config)
    subprocess.run(["promtool", "check", "config", str(config_file)], check=True, stdout=subprocess.DEVNULL)
    return config_file


def check_targets(prometheus: PrometheusServer, jobs: set[str], problems: Problems) -> None:
    def all_up():
        found = prometheus.targets()
        return {t["labels"]["job"] for t in found} == jobs and all(t["health"] == "up" for t in found) and found

    try:
        for target in eventually(all_up, 20, "every target scraped and up"):
            print(f"    {target['labels']['job']:7} {target['scrapeUrl']}: {target['health']}")
    except NotInTime as err:
        problems.check(False, f"{err}: {[(t['labels']['job'], t['health'], t['lastError']) for t in prometheus.targets()]}")
    def evaluated():
        rules = prometheus.alerting_rules()
        return rules if rules and all(r["health"] != "unknown" for r in rules) else None

    rules = eventually(evaluated, 10, "every rule evaluated once")
    shipped = {r["alert"] for g in rendering.load(SHIPPED / "alerts.yaml")["groups"] for r in g["rules"]}
    problems.check({r["name"] for r in rules} == shipped, f"loaded {sorted(r['name'] for r in rules)}, shipped {sorted(shipped)}")
    for rule in rules:
        problems.check(rule["health"] == "ok", f"{rule['name']}: {rule['health']} {rule.get('lastError', '')}")
    print(f"    {len(rules)} alerting rules loaded, all healthy")


def check_expositions(urls: dict[str, str], problems: Problems) -> None:
    documented = documentation.metrics_table(documentation.load_page(ROOT))
    for job, url in urls.items():
        text = httpclient.get(url).body.decode()
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        problems.check(lint.returncode == 0, f"{job}: promtool check metrics: {lint.stdout}{lint.stderr}")
        families = documentation.exposed_families(text)
        for name, exposed in families.items():
            row = documented.get(name)
            if problems.check(row is not None, f"{job} exports {name}, which the metrics table of docs/operations.md lacks"):
                assert row is not None
                problems.check(row.type == exposed.type, f"{name}: docs/operations.md says {row.type}, {job} exports a {exposed.type}")
                problems.check(
                    row.labels == exposed.labels,
                    f"{name}: docs/operations.md says labels {sorted(row.labels)}, {job} has {sorted(exposed.labels)}",
                )
        print(f"    {job}: {len(families)} metric families, lint {'clean' if lint.returncode == 0 else 'FAILED'}")


def quiet(prometheus: PrometheusServer, problems: Problems) -> None:
    """No alert active, pending or firing, for QUIET_SECONDS in a row (within a minute)."""
    calm_since = [time.monotonic()]

    def calm_long_enough() -> bool:
        if faults.active(prometheus):
            calm_since[0] = time.monotonic()
        return time.monotonic() - calm_since[0] >= QUIET_SECONDS

    try:
        eventually(calm_long_enough, 60, f"no alert for {QUIET_SECONDS:g} s", every=faults.POLL_SECONDS)
        print("    quiet")
    except NotInTime as err:
        problems.check(False, f"{err}; active: {faults.active(prometheus)}")


def drill(prometheus: PrometheusServer, fault: str, expected: list[str], inject, repair) -> FaultReport:
    print(f"    {fault}: expecting {', '.join(expected)}", flush=True)
    report = faults.drill(prometheus, fault, expected, inject, repair, FAULT_TIMEOUT)
    for times in report.alerts.values():
        print(f"      {times}", flush=True)
    return report


def check_dashboard(prometheus: PrometheusServer, problems: Problems) -> None:
    for query in dashboard.queries(SHIPPED / "grafana-dashboard.json"):
        expr = dashboard.for_prometheus(query.expr, dashboard.VALUES_FOR_1S_SCRAPES)
        try:
            series = len(prometheus.query(expr))
        except AssertionError as err:
            problems.check(False, f"panel {query.panel!r} ({query.ref}): {err}")
            continue
        if problems.check(series > 0, f"panel {query.panel!r} ({query.ref}) has no data: {expr}"):
            print(f"    {query.panel} ({query.ref}): {series} series")


if __name__ == "__main__":
    sys.exit(main())
