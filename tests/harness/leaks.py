"""Processes the tests started and left behind.

Two views: `of_sessions`, the processes still alive in the sessions this Python process started
(`processes.STARTED`, checked when a pytest session ends: see tests/conftest.py); and `in_checkout`,
every nginx, Redis, Prometheus, registry or service process whose working directory is inside a
checkout, checked by `tests/run` once every suite has ended (`python -m harness.leaks`),
since suites start processes outside the harness too. Other checkouts' processes on the same
machine are left out either way.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from .binaries import REPO_ROOT
from .processes import session_members

# The servers the suites start, by command name (`/proc/PID/comm`: redis-server's executable is
# a link to redis-check-rdb): nginx (gateway, fake upstream), Redis, Prometheus, the registry,
# the services, and wrk and Chromium, which drive them.
SERVERS = frozenset({"nginx", "redis-server", "prometheus", "docker-registry", "api-a", "api-b", "poller", "wrk", "chromium"})


@dataclass(frozen=True)
class Leftover:
    pid: int
    command: str

    def __str__(self) -> str:
        return f"{self.pid} {self.command}"


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def of_sessions(sessions: set[int]) -> list[Leftover]:
    """The live processes of `sessions`, excluding this process's own."""
    own = os.getsid(0)
    return [Leftover(pid, command_of(pid)) for pid in session_members(sessions - {own})]


def in_checkout(root: Path) -> list[Leftover]:
    """The live server processes (`SERVERS`) whose working directory is inside `root`."""
    root = root.resolve()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            cwd = Path(os.readlink(entry / "cwd"))
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile, or a kernel thread
        if name in SERVERS and state != "Z" and cwd.is_relative_to(root):
            found.append(Leftover(int(entry.name), command_of(int(entry.name))))
    return found


def main() -> int:
    """`python -m harness.leaks`: lists the leftovers of `in_checkout` for this checkout (the
    harness's own, never another), kills them, and exits 1 if there were any."""
    leftovers = in_checkout(REPO_ROOT)
    for leftover in leftovers:
        print(f"left behind: {leftover}", file=sys.stderr)
        try:
            os.kill(leftover.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if not leftovers:
        print("no process left behind")
    return 1 if leftovers else 0


if __name__ == "__main__":
    sys.exit(main())
