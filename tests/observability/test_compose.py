"""The compose file's observability profile: rendered by `docker compose config` (no engine
needed), then brought up for real with the stack suite's fake upstream
(tests/stack/compose.test.yml) and checked through its Prometheus: its three targets up, the
shipped rules evaluated without error, and the price it scraped from the poller inside pod A the
one the gateway serves. tests/suites/observability.sh starts the Docker engine and makes the
base images first (their names are in the environment, see tests/stack/docker.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from harness import httpclient
from harness.binaries import REPO_ROOT
from harness.prometheus_server import PrometheusApi
from harness.waiting import eventually

from observability import compose_profile, compose_run, rendering

PROJECT = "btcprice-observability-test"
GATEWAY_PORT, PROMETHEUS_PORT = 28180, 28190
# The shipped config scrapes and evaluates every 15 s: a few rounds of that.
PATIENCE = 120.0


def compose_cli() -> list[str]:
    """docker compose v2 where installed, else v1 (Debian's docker-compose)."""
    v2 = subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    return ["docker", "compose"] if v2 else [shutil.which("docker-compose") or "docker-compose"]


def compose(*args: str, files: tuple[str, ...] = ("docker-compose.yml",), **kwargs) -> subprocess.CompletedProcess:
    argv = [*compose_cli(), *(arg for f in files for arg in ("-f", f)), *args]
    return subprocess.run(argv, cwd=REPO_ROOT, check=True, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def rendered() -> dict:
    return yaml.safe_load(compose("--profile", "observability", "config").stdout)


def test_the_compose_file_is_valid_with_and_without_the_profile():
    compose("config", "-q")
    compose("--profile", "observability", "config", "-q")


def test_the_profile_adds_prometheus_alone_isolated_and_hardened(rendered):
    scrape = rendering.load(rendering.SHIPPED / "prometheus.yml")
    failed = [what for ok, what in compose_profile.checks(rendered, scrape) if not ok]
    assert failed == []


@pytest.fixture(scope="module")
def stack(workdir):
    """`docker compose --profile observability up` with the fake upstream; its logs kept in
    target/observability/compose.log, then down."""
    env = {**os.environ, "GATEWAY_PORT": str(GATEWAY_PORT), "PROMETHEUS_PORT": str(PROMETHEUS_PORT), "IMAGE_TAG": "observability-test"}
    files = ("docker-compose.yml", "tests/stack/compose.test.yml")
    profile = ("-p", PROJECT, "--profile", "observability")
    try:
        compose(*profile, "up", "-d", "--build", files=files, env=env, timeout=1800)
        yield PrometheusApi(f"http://127.0.0.1:{PROMETHEUS_PORT}"), f"http://127.0.0.1:{GATEWAY_PORT}"
    finally:
        logs = subprocess.run([*compose_cli(), *(a for f in files for a in ("-f", f)), *profile, "logs", "--no-color"],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True)  # fmt: skip
        (workdir / "compose.log").write_text(logs.stdout + logs.stderr)
        compose(*profile, "down", "--volumes", "--remove-orphans", files=files, env=env)


def test_prometheus_scrapes_pod_a_and_b_and_evaluates_the_rules_in_the_stack(stack):
    prometheus, gateway = stack
    shipped = rendering.load(rendering.SHIPPED / "prometheus.yml")
    jobs = {job["job_name"] for job in shipped["scrape_configs"]}
    rules = {r["alert"] for g in rendering.load(rendering.SHIPPED / "alerts.yaml")["groups"] for r in g["rules"]}
    served = eventually(lambda: httpclient.get(f"{gateway}/service1/current").json()["price"], PATIENCE, "a price through the gateway")
    eventually(lambda: compose_run.all_up(prometheus, jobs), PATIENCE, f"Prometheus scrapes {sorted(jobs)}, all up")
    loaded = eventually(lambda: compose_run.evaluated(prometheus), PATIENCE, "every rule evaluated")
    assert {r["name"] for r in loaded} == rules
    assert [f"{r['name']}: {r.get('lastError')}" for r in loaded if r["health"] != "ok"] == []
    eventually(lambda: compose_run.scraped_price(prometheus, served), PATIENCE, f"poller_last_price_usd = {served}")
