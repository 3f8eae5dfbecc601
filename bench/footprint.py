"""What each binary costs besides throughput: its size on disk, the time from exec to its first
`/readyz` 200, the poller's CPU time per tick, and the images' sizes when a Docker engine
answers. Resident memory is read by the caller at the right moments (`processes.resident_kib`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness import httpclient, prometheus
from harness.processes import Process, free_port
from harness.waiting import eventually

IMAGES = ("api-a", "api-b", "poller")
# Where the CI machine's Docker engine listens when a suite started it (tests/stack/docker.sh).
CI_DOCKER_HOST = "unix:///run/docker-ci.sock"
# The poller's shortest allowed interval, for as many ticks as possible per second measured.
TICK_INTERVAL = "100ms"
TICK_FETCH_TIMEOUT = "80ms"


@dataclass(frozen=True)
class Size:
    bytes: int
    stripped: int
    """After `strip --strip-all` (the release profile strips already: then the same)."""


def binary_size(binary: Path) -> Size:
    size = binary.stat().st_size
    if shutil.which("strip") is None:
        return Size(size, size)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / binary.name
        subprocess.run(["strip", "--strip-all", "-o", str(copy), str(binary)], check=True)
        return Size(size, copy.stat().st_size)


def exec_to_ready_ms(name: str, binary: Path, env: dict[str, str], workdir: Path) -> float:
    """Milliseconds from starting `binary` to its first `/readyz` 200, asked every millisecond."""
    port = free_port()
    process = Process(name, [str(binary)], workdir, env={"LISTEN_ADDR": f"127.0.0.1:{port}", **env})
    url = f"http://127.0.0.1:{port}/readyz"
    started = time.monotonic()
    with process.start():
        eventually(lambda: httpclient.status_of(url, timeout=1.0) == 200, 10, f"{name}: /readyz 200", every=0.001)
        return (time.monotonic() - started) * 1000


def exec_to_ready(name: str, binary: Path, env: dict[str, str], workdir: Path, runs: int) -> list[float]:
    return [exec_to_ready_ms(f"{name}-ready-{run}", binary, env, workdir) for run in range(runs)]


@dataclass(frozen=True)
class TickCost:
    ticks: int
    cpu_ms_per_tick: float
    rss_idle_kib: int
    rss_after_kib: int


def ticks(base_url: str) -> float:
    return prometheus.total(base_url + "/metrics", "poller_ticks_total")


def poller_tick_cost(poller: Process, base_url: str, seconds: float) -> TickCost:
    """CPU time (user + system, from /proc) per tick of a running poller over `seconds`."""
    eventually(lambda: ticks(base_url) >= 1, 10, "the poller's first tick")
    rss_idle = poller.rss_kib()
    ticks_before, cpu_before = ticks(base_url), poller.cpu_seconds()
    time.sleep(seconds)  # the measurement itself: the poller ticks meanwhile
    ticks_after, cpu_after = ticks(base_url), poller.cpu_seconds()
    counted = int(ticks_after - ticks_before)
    if counted == 0:
        raise RuntimeError("the poller did not tick")
    return TickCost(counted, (cpu_after - cpu_before) * 1000 / counted, rss_idle, poller.rss_kib())


def docker_environment() -> dict[str, str] | None:
    """The environment in which `docker` reaches an engine: the caller's, or the CI machine's
    engine on its own socket; None when none answers."""
    if shutil.which("docker") is None:
        return None
    for extra in ({}, {"DOCKER_HOST": CI_DOCKER_HOST}):
        env = {**os.environ, **extra}
        if subprocess.run(["docker", "info"], env=env, capture_output=True, timeout=20).returncode == 0:
            return env
    return None


@dataclass(frozen=True)
class Image:
    service: str
    reference: str | None
    """The newest `btc-price/<service>` image; None when none is built."""
    bytes: int = 0
    created: str = ""


def image_sizes() -> list[Image] | str:
    """The newest image of each service, or why there is none to measure."""
    env = docker_environment()
    if env is None:
        return "no Docker engine answers: image sizes skipped"
    images = []
    for service in IMAGES:
        listed = subprocess.run(
            ["docker", "image", "ls", f"btc-price/{service}", "--format", "{{.Repository}}:{{.Tag}}"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        references = [reference for reference in listed if not reference.endswith(":<none>")]
        if not references:
            images.append(Image(service, None))
            continue
        size, created = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Size}} {{.Created}}", references[0]],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        images.append(Image(service, references[0], int(size), created[:19].replace("T", " ")))
    return images
