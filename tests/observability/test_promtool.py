"""What observability/ ships, checked by promtool: the local stack's Prometheus config, the alert
rules, and the rules' unit tests (each alert fires on its series and stays quiet on a healthy
one, at the real durations)."""

from __future__ import annotations

import subprocess

from observability.rendering import SHIPPED


def promtool(*args: str) -> None:
    done = subprocess.run(["promtool", *args], capture_output=True, text=True)
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}{done.stderr}"


def test_the_shipped_config_passes_promtool():
    promtool("check", "config", str(SHIPPED / "prometheus.yml"))


def test_the_shipped_rules_pass_promtool():
    promtool("check", "rules", str(SHIPPED / "alerts.yaml"))


def test_each_alert_fires_on_its_series_and_stays_quiet_on_a_healthy_one():
    tests = sorted(str(path) for path in (SHIPPED / "tests").glob("*.test.yaml"))
    assert tests, "observability/tests holds no rule tests"
    promtool("test", "rules", *tests)
