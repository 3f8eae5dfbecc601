"""Everything the benchmark measures, running at once on loopback: for each window of
`targets.WINDOWS` Service A's pod (the harness's), its Redis seeded with the window's samples,
its poller writing one more every interval (from one fake exchange) and its api-a holding the
window; a second api-a for the idle connections;
api-b; nginx answering a fixed body (the yardstick); the repository's gateway in front of the
services, and the same gateway in front of that nginx.

A pinned stack is what the CPU table measures: the servers each on one worker (tokio's
`TOKIO_WORKER_THREADS=1`, nginx's `worker_processes 1`) and every thread of theirs on one core
(`SERVER_CPU`), leaving the other to wrk; only the servers the direct targets need.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

from harness import httpclient, services
from harness.binaries import Binaries
from harness.exchange import FakeExchange
from harness.gateway import Gateway
from harness.pod import ServiceAPod
from harness.processes import Process, cpu_seconds, free_port
from harness.redis import RedisServer

from .targets import PINNED_WINDOWS, WINDOWS, Window

# Three providers that agree, as the seeded samples' sources say.
PRICES = {"coinbase": 97_120.0, "kraken": 97_125.0, "bitstamp": 97_130.0}
# The fake exchange answers within milliseconds: shorter than every poll interval used here.
FETCH_TIMEOUT = "500ms"
# The Deployment's Redis limit (manifests/base/service-a/deployment.yaml): a day of samples at
# 1 s takes 23-29 MB, which the compose file's 32mb cannot always hold beside the append-only
# file's buffers (the seed's writes are then refused: OOM).
REDIS_MAXMEMORY = "48mb"
# Where a pinned stack's servers run, and where wrk runs against them.
SERVER_CPU = 0
CLIENT_CPU = 1
# A service's runtime on one worker thread, as a replica limited to one core should run.
ONE_WORKER = {"TOKIO_WORKER_THREADS": "1"}

STATIC_CONFIG = """\
# The yardstick: nginx answering a fixed body from its configuration, the cheapest answer an
# HTTP server can give. As many workers as the gateway (auto: one per core) or, pinned, one;
# connections are never closed after some number of requests, as the services never close them.
worker_processes {workers};
pid {workdir}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ default_type application/json; return 200 '{body}'; }}
    }}
}}
"""


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (nginx's master and its workers)."""
    children = [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return [pid, *(descendant for child in children for descendant in process_tree(child))]


def static_config(workdir: Path, port: int, body: str, workers: str = "auto") -> str:
    """The yardstick's nginx.conf answering `body` (quoted for nginx) on every path."""
    quoted = body.replace("\\", "\\\\").replace("'", "\\'")
    return STATIC_CONFIG.format(workdir=workdir, port=port, body=quoted, workers=workers)


def pin(pid: int, cpu: int) -> None:
    """Every thread of `pid` and of its descendants on `cpu` (threads started later inherit it)."""
    for each in process_tree(pid):
        for task in Path(f"/proc/{each}/task").iterdir():
            os.sched_setaffinity(int(task.name), {cpu})


class StaticNginx:
    def __init__(self, workdir: Path, body: str, workers: str = "auto"):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = workdir / "nginx.conf"
        config.write_text(static_config(workdir, self.port, body, workers))
        argv = ["nginx", "-e", "stderr", "-p", str(workdir), "-c", str(config), "-g", "daemon off;"]
        self.process = Process("nginx-static", argv, workdir)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "StaticNginx":
        self.process.start()
        self.process.wait_http(self.url("/"))
        return self


class Stack:
    def __init__(self, binaries: Binaries, seed: Path, workdir: Path, idle_timeout_seconds: int, pinned: bool = False):
        self.pinned = pinned
        self.windows = PINNED_WINDOWS if pinned else WINDOWS
        self.service_env = ONE_WORKER if pinned else {}
        self.binaries = binaries
        self.seed = seed
        self.workdir = workdir
        self.idle_timeout_seconds = idle_timeout_seconds
        self.exchange = FakeExchange(list(PRICES), PRICES)
        self.pods: dict[str, ServiceAPod] = {}
        self.urls: dict[str, str] = {}
        self.processes: dict[str, Process] = {}
        self.serving: dict[str, list[Process]] = {}
        """By server: every process that works for its answers (a gateway and what it proxies to)."""
        self._stack = contextlib.ExitStack()

    def start(self) -> "Stack":
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        self._stack.enter_context(self.exchange)
        for window in self.windows:
            pod = self._start_pod(window)
            self.pods[window.key] = pod
            self._add(window.server, pod.api.url(), pod.api.process)
        first = self.pods[WINDOWS[0].key]
        api_b = self._stack.enter_context(services.start_api_b(self.binaries, self.workdir, env=self.service_env))
        self._add("api-b", api_b.url(), api_b.process)
        body = httpclient.get(first.api.url("/service1/current")).body.decode()
        static = StaticNginx(self.workdir / "nginx-static", body, "1" if self.pinned else "auto")
        self._stack.callback(static.process.kill)
        self._add("static", static.start().url(), static.process)
        if self.pinned:
            for process in self.processes.values():
                pin(process.pid, SERVER_CPU)
            return
        # Longer than the idle connections are held, so the server never closes one meanwhile.
        idle = services.start_api_a(
            self.binaries,
            self.workdir,
            first.redis.url,
            name="api-a-idle",
            env={"IDLE_TIMEOUT": f"{self.idle_timeout_seconds}s"},
        )
        self._add("api-a-idle", self._stack.enter_context(idle).url(), idle.process)
        # wrk is one client asking as fast as it can: the per-client rate limits would answer
        # it 429 (the drills drill them); lifted in both gateways, so the ratio stays fair.
        real = Gateway(
            self.workdir / "gateway-services",
            {"service_a": [f"127.0.0.1:{first.api.port}"], "service_b": [f"127.0.0.1:{api_b.port}"]},
            per_client_limits=False,
        )
        self._add("gateway", self._stack.enter_context(real.start()).url(), real.process, [first.api.process, api_b.process])
        to_static = Gateway(
            self.workdir / "gateway-static",
            {"service_a": [f"127.0.0.1:{static.port}"], "service_b": [f"127.0.0.1:{static.port}"]},
            per_client_limits=False,
        )
        self._add("gw-static", self._stack.enter_context(to_static.start()).url(), to_static.process, [static.process])

    def _start_pod(self, window: Window) -> ServiceAPod:
        """Service A's pod holding one window: Redis with the window's samples seeded (as the
        poller writes them), the poller adding one every interval (from the shared exchange),
        api-a ready."""
        settings = {"AVERAGE_WINDOW": window.average_window}
        pod = ServiceAPod(
            self.binaries,
            self.workdir / f"window-{window.key}",
            PRICES,
            poll_interval=window.interval,
            fetch_timeout=FETCH_TIMEOUT,
            api_env={**settings, **self.service_env},
            poller_env=settings,
            exchange=self.exchange,
            redis_maxmemory=REDIS_MAXMEMORY,
        )
        self._stack.enter_context(pod)

        def seed(redis: RedisServer) -> None:
            subprocess.run(
                [str(self.seed), redis.url, str(window.samples), window.interval], check=True, stdout=subprocess.DEVNULL
            )

        # The first read of a long window is a full one, in chunks: allow it time.
        return pod.start(seed=seed, api_timeout=60)

    def _add(self, server: str, url: str, process: Process, upstreams: list[Process] | None = None) -> None:
        self.urls[server] = url
        self.processes[server] = process
        self.serving[server] = [process, *(upstreams or [])]

    def cpu_seconds(self, server: str) -> float:
        """CPU time used so far by every process serving `server`, nginx's workers included."""
        return sum(cpu_seconds(pid) for process in self.serving[server] for pid in process_tree(process.pid))

    def server_pids(self, server: str) -> list[int]:
        """The processes of `server` itself (nginx's master and workers), not its upstreams'."""
        return process_tree(self.processes[server].pid)

    def base_url(self, server: str) -> str:
        return self.urls[server]

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
