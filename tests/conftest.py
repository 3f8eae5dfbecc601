"""The fixtures every suite shares, so that no suite builds or starts these its own way: the
release binaries (built once), a work folder per suite under target/, and, each stopped once the
suite's tests are done: Service A's pod against a fake exchange serving the providers' real
bodies, api-b, the repository's gateway on nginx, Redis, Prometheus, and Chromium.

A pytest session runs one suite: what is started here is the suite's, stopped when its tests are
done. A run fails when a process the harness started outlives it (nginx's workers, a Redis, a
service): see `pytest_sessionfinish`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

from harness import binaries as release
from harness import leaks, processes, services
from harness.binaries import REPO_ROOT, Binaries
from harness.gateway import Gateway
from harness.pod import ServiceAPod
from harness.prometheus_server import PrometheusServer
from harness.redis import RedisServer
from harness.services import Service

TESTS = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def binaries() -> Binaries:
    """The release binaries of the three services: those in `BINARY_DIR` (e.g. another
    checkout's `target/release`, to watch a change fail), or this checkout's, built once
    (`cargo build --release --locked`, which rebuilds nothing when `tests/run` built them first)."""
    binary_dir = os.environ.get("BINARY_DIR")
    return release.locate(Path(binary_dir)) if binary_dir else release.build_release()


@pytest.fixture(scope="session")
def seed() -> Path:
    """The example that writes a window of samples into a Redis (`api-a/examples/seed.rs`), this
    checkout's, built once (`harness.binaries.build_seed`)."""
    return release.build_seed()


def suite_folder(suite: str) -> Path:
    """`target/<suite>/`, emptied: the logs of every process a suite starts, and its reports
    and screenshots (CI keeps the folder)."""
    folder = REPO_ROOT / "target" / suite
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def workdir(request: pytest.FixtureRequest) -> Path:
    """The suite's folder, `target/<suite>/` (its folder under tests/), emptied when the suite
    starts. A pytest session runs one suite (`tests/run SUITE` runs each in its own), so
    session-scoped fixtures are the suite's."""
    return suite_folder(Path(request.session.items[0].path).relative_to(TESTS).parts[0])


@pytest.fixture(scope="session")
def started() -> contextlib.ExitStack:
    """What the suite starts, stopped when its tests are done (the last started first)."""
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def start_pod(binaries: Binaries, workdir: Path, started: contextlib.ExitStack) -> Callable[..., ServiceAPod]:
    """`start_pod(prices, ...)`: Service A's pod started (see `ServiceAPod` and its `start` for
    the arguments), against a fake exchange answering `prices`."""

    def start(prices: dict[str, float], *, poller=True, seed=None, api_ready_path="/readyz", api_timeout=15.0, **settings) -> ServiceAPod:
        pod = started.enter_context(ServiceAPod(binaries, workdir, prices, **settings))
        return pod.start(poller=poller, seed=seed, api_ready_path=api_ready_path, api_timeout=api_timeout)

    return start


@pytest.fixture(scope="session")
def start_api_b(binaries: Binaries, workdir: Path, started: contextlib.ExitStack) -> Callable[..., Service]:
    """`start_api_b(name="api-b", env=..., port=...)`: api-b under `/service2`, ready."""
    return lambda **kwargs: started.enter_context(services.start_api_b(binaries, workdir, **kwargs))


@pytest.fixture(scope="session")
def start_gateway(workdir: Path, started: contextlib.ExitStack) -> Callable[..., Gateway]:
    """`start_gateway(service_a=[address...], service_b=[address...], per_client_limits=True,
    access_log=False)`: gateway/nginx.conf on a real nginx, routing to those addresses (a free
    port nothing listens on where none is given: that route answers 502); `per_client_limits=False`
    lifts the per-client rate limits for a client that asks as fast as it can (see `Gateway`);
    `access_log=True` keeps its access log (`Gateway.access_log`)."""

    def start(
        service_a: list[str] | None = None,
        service_b: list[str] | None = None,
        name: str = "gateway",
        per_client_limits: bool = True,
        access_log: bool = False,
    ) -> Gateway:
        nowhere = [f"127.0.0.1:{processes.free_port()}"]
        upstreams = {"service_a": service_a or nowhere, "service_b": service_b or nowhere}
        gateway = Gateway(workdir / name, upstreams, per_client_limits=per_client_limits, access_log=access_log)
        return started.enter_context(gateway.start())

    return start


@pytest.fixture(scope="session")
def start_redis(workdir: Path, started: contextlib.ExitStack) -> Callable[..., RedisServer]:
    """`start_redis(name, appendonly=True)`: a real redis-server on a free port, as the pod runs it."""
    return lambda name="redis", **kwargs: started.enter_context(RedisServer(workdir / name, **kwargs).start())


@pytest.fixture(scope="session")
def start_prometheus(workdir: Path, started: contextlib.ExitStack) -> Callable[[Path], PrometheusServer]:
    """`start_prometheus(config)`: Debian's Prometheus on a free loopback port, ready."""
    return lambda config: started.enter_context(PrometheusServer(workdir, config))


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, driven by Playwright (whose own browser download cannot work here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture(scope="session", autouse=True)
def open_files_limit() -> int:
    """The soft open-files limit raised to the hard one: a thousand hostile connections need as
    many descriptors, in the tests and in the services they start."""
    return processes.raise_open_files_limit()


class Report:
    """What a suite prints after its tests (tables of figures, timings), in the order added."""

    def __init__(self) -> None:
        self.sections: list[tuple[str, str]] = []

    def add(self, title: str, text: str) -> None:
        self.sections.append((title, text))


REPORT = Report()


@pytest.fixture(scope="session")
def report() -> Report:
    return REPORT


def pytest_terminal_summary(terminalreporter) -> None:
    for title, text in REPORT.sections:
        terminalreporter.section(title)
        terminalreporter.write_line(text)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fails the run when a process the harness started is still alive once every fixture has
    stopped what it started; kills it."""
    leftovers = leaks.of_sessions(processes.STARTED)
    if leftovers:
        for session_id in processes.STARTED:
            processes.kill_session(session_id)
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            "processes left behind (killed now): " + "; ".join(map(str, leftovers)), red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
