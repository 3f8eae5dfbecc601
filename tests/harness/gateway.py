"""The local stack's gateway for real: the repository's `gateway/nginx.conf`, not a copy, run by
the machine's nginx on loopback.

Only what ties the file to docker compose is substituted, and each substitution must match (a
changed gateway fails loudly here instead of being drilled half-way): the `server` lines of each
`upstream` block (with any number of local addresses), the two `listen` ports, the pid file and
the temporary paths (into a work directory), and the access log (off: a load test would write
gigabytes of it; into the work directory for a test that reads it). Everything else, routes, keepalive, timeouts, rate limits, error pages, is the
file's own; only a suite whose one client is a load generator or a fuzzer (wrk, Schemathesis:
thousands of requests a second from one address, by design) lifts the per-client rate limits
(`per_client_limits=False`), which the `rate-limit` drill drills.
"""

from __future__ import annotations

import re
from pathlib import Path

from .binaries import REPO_ROOT
from .processes import Process, free_port, session_members
from .waiting import eventually

CONFIG = REPO_ROOT / "gateway" / "nginx.conf"


def seconds_setting(name: str, default: float) -> float:
    """A duration `gateway/nginx.conf` sets in whole seconds (`name Ns;`), else nginx's
    `default`: what a test holds the gateway to, read from the file rather than copied."""
    found = re.search(rf"\n\s*{re.escape(name)} (\d+)s;", CONFIG.read_text())
    return float(found.group(1)) if found else default


def render(
    source: str,
    upstreams: dict[str, list[str]],
    port: int,
    health_port: int,
    workdir: Path,
    per_client_limits: bool = True,
    access_log: bool = False,
) -> str:
    """`source` (the gateway's nginx.conf) ready to run on loopback from `workdir`, with or
    without its per-client rate limits, its access log off or (`access_log`) in
    `workdir/access.log`."""

    def substitute(pattern: str, replacement, text: str, flags: int = 0) -> str:
        result, count = re.subn(pattern, replacement, text, flags=flags)
        if count == 0:
            raise ValueError(f"gateway/nginx.conf changed: nothing matches {pattern!r}")
        return result

    text = source
    for name, addresses in upstreams.items():
        servers = "".join(f"        server {address};\n" for address in addresses)
        text = substitute(
            rf"(upstream {name} \{{\n)(?:\s*server [^;]+;\n)+",
            lambda match: match.group(1) + servers,
            text,
        )
    text = substitute(r"listen 8080;", f"listen 127.0.0.1:{port};", text)
    text = substitute(r"listen 127\.0\.0\.1:8081;", f"listen 127.0.0.1:{health_port};", text)
    text = substitute(r"pid /tmp/nginx\.pid;", f"pid {workdir}/nginx.pid;", text)
    text = substitute(r"(\w+_temp_path) /tmp/(\w+);", rf"\1 {workdir}/\2;", text)
    access = rf"access_log {workdir}/access.log\1;" if access_log else "access_log off;"
    text = substitute(r"access_log /dev/stdout([^;]*);", access, text)
    if not per_client_limits:
        text = substitute(r"\n *limit_req zone=[^;]+;", "", text)
    return text


class Gateway:
    """nginx serving the gateway's routes on `port`, to the given upstream addresses."""

    def __init__(
        self, workdir: Path, upstreams: dict[str, list[str]], per_client_limits: bool = True, access_log: bool = False
    ):
        self.workdir = workdir / "gateway"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.health_port = free_port()
        self.config = self.workdir / "nginx.conf"
        rendered = render(
            CONFIG.read_text(), upstreams, self.port, self.health_port, self.workdir, per_client_limits, access_log
        )
        self.config.write_text(rendered)
        self.process = Process(
            "nginx",
            ["nginx", "-e", "stderr", "-p", str(self.workdir), "-c", str(self.config), "-g", "daemon off;"],
            self.workdir,
        )

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "Gateway":
        self.process.start()
        self.process.wait_http(f"http://127.0.0.1:{self.health_port}/healthz", timeout=10)
        # One worker answering is not all of them ready: each sets up its connections (65 536)
        # first and shows the master's title until then.
        eventually(self._workers_ready, 10, "every nginx worker ready")
        return self

    def _workers_ready(self) -> bool:
        others = [pid for pid in session_members({self.process.pid}) if pid != self.process.pid]
        titles = []
        for pid in others:
            try:
                titles.append(Path(f"/proc/{pid}/cmdline").read_bytes())
            except OSError:
                return False
        return bool(titles) and all(title.startswith(b"nginx: worker process") for title in titles)

    def access_log(self) -> list[str]:
        """The lines of the access log (a gateway started with `access_log=True`)."""
        return (self.workdir / "access.log").read_text(errors="replace").splitlines()

    def error_log(self) -> list[str]:
        """The lines nginx logged (level warn and above)."""
        return self.process.stderr_path.read_text(errors="replace").splitlines()

    def __enter__(self) -> "Gateway":
        return self

    def __exit__(self, *_exc) -> None:
        self.process.kill()
