"""A fault injected and repaired while Prometheus's alerts are watched: which alerts went
pending and firing, how long after the fault, and how long each took to resolve once it was
repaired."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from harness.waiting import NotInTime

from harness.prometheus_server import PrometheusServer

# How often the alerts are read: well under Prometheus's evaluation interval in the live test.
POLL_SECONDS = 0.2


@dataclass
class AlertTimes:
    alert: str
    pending_after: float | None = None
    """Seconds from the fault to the first time the alert was seen pending (or firing)."""
    firing_after: float | None = None
    resolved_after: float | None = None
    """Seconds from the repair to the first time the alert was no longer active."""

    def __str__(self) -> str:
        return (
            f"{self.alert}: pending after {seconds_text(self.pending_after)}, firing after "
            f"{seconds_text(self.firing_after)}, resolved {seconds_text(self.resolved_after)} after the repair"
        )


@dataclass
class FaultReport:
    fault: str
    expected: list[str]
    alerts: dict[str, AlertTimes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def active(prometheus: PrometheusServer) -> dict[str, str]:
    """Each active alert's name and its state; `firing` wins when several series have one name."""
    states: dict[str, str] = {}
    for alert in prometheus.alerts():
        name = alert["labels"]["alertname"]
        if states.get(name) != "firing":
            states[name] = alert["state"]
    return states


def drill(
    prometheus: PrometheusServer,
    fault: str,
    expected: list[str],
    inject: Callable[[], None],
    repair: Callable[[], None],
    timeout: float,
) -> FaultReport:
    """Injects a fault, waits until every `expected` alert fires, repairs it and waits until no
    alert seen meanwhile is active any more; records every alert seen and its times."""
    report = FaultReport(fault, expected)
    injected = time.monotonic()
    inject()
    try:
        watch(prometheus, report, injected, lambda states: all(states.get(a) == "firing" for a in expected), timeout)
    except NotInTime as err:
        report.problems.append(f"{fault}: {err}")
    repaired = time.monotonic()
    repair()
    try:
        watch(prometheus, report, repaired, lambda states: not set(states) & set(report.alerts), timeout, resolving=True)
    except NotInTime as err:
        report.problems.append(f"{fault}, repaired: {err}")
    return report


def watch(
    prometheus: PrometheusServer,
    report: FaultReport,
    since: float,
    done: Callable[[dict[str, str]], bool],
    timeout: float,
    resolving: bool = False,
) -> None:
    """Reads the alerts until `done` holds for them, noting in `report` when each alert was
    first seen pending, firing and (when `resolving`) gone."""
    deadline = since + timeout
    while True:
        now = time.monotonic()
        states = active(prometheus)
        if resolving:
            for name, times in report.alerts.items():
                if name not in states and times.resolved_after is None:
                    times.resolved_after = now - since
        else:
            for name, state in states.items():
                times = report.alerts.setdefault(name, AlertTimes(name))
                if times.pending_after is None:
                    times.pending_after = now - since
                if state == "firing" and times.firing_after is None:
                    times.firing_after = now - since
        if done(states):
            return
        if now >= deadline:
            raise NotInTime(f"not within {timeout:g} s; active: {states or 'none'}")
        time.sleep(POLL_SECONDS)


def seconds_text(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"


def table(reports: list[FaultReport]) -> str:
    """One Markdown table: fault, alert, pending after, firing after, resolved after."""
    cell = seconds_text

    lines = [
        "| fault | alert | pending after | firing after | resolved after repair |",
        "|---|---|---|---|---|",
    ]
    for report in reports:
        for times in sorted(report.alerts.values(), key=lambda t: (t.alert not in report.expected, t.alert)):
            mark = "" if times.alert in report.expected else " (also)"
            lines.append(
                f"| {report.fault} | {times.alert}{mark} | {cell(times.pending_after)} | "
                f"{cell(times.firing_after)} | {cell(times.resolved_after)} |"
            )
    return "\n".join(lines)
