"""Child processes under test: free ports, start with an environment, signals, exit status,
captured logs, and resident memory and CPU time read from /proc.

Every child gets its own session, so a signal reaches that process alone, and writes stdout
and stderr to files in a work directory: the logs stay readable after a failed run. Killing a
child kills its whole session (nginx's workers with their master); every session started is
remembered (`STARTED`) so that a run can check that none of them outlived it (`leaks`).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import socket
import subprocess
from pathlib import Path

from . import httpclient
from .waiting import eventually

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1
# Looked up once here: between fork and exec the child should do as little as possible.
_prctl = ctypes.CDLL(None, use_errno=True).prctl

STARTED: set[int] = set()
"""The session of every child started by this process (a session's id is its first process's)."""


def _die_with_parent() -> None:
    """Runs in the child before it executes: it gets SIGKILL when the harness dies, so a killed
    or timed-out test run leaves no server behind (each child has its own session, so nothing
    else would stop it)."""
    _prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))


def raise_open_files_limit() -> int:
    """Raises this process's soft open-files limit to its hard limit (children inherit it);
    returns the new limit. A thousand hostile connections need as many descriptors."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def resident_kib(pid: int) -> int:
    """Resident memory (VmRSS) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time used so far, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces and parentheses: count from its end.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


class Process:
    """One child process; a context manager that kills it on exit if it still runs."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None):
        self.name = name
        self.argv = argv
        self.env = env or {}
        self.stdout_path = workdir / f"{name}.stdout.log"
        self.stderr_path = workdir / f"{name}.stderr.log"
        workdir.mkdir(parents=True, exist_ok=True)
        self._popen: subprocess.Popen | None = None

    def start(self) -> "Process":
        environment = {**os.environ, **self.env}
        with open(self.stdout_path, "ab") as stdout, open(self.stderr_path, "ab") as stderr:
            self._popen = subprocess.Popen(
                self.argv,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        STARTED.add(self._popen.pid)
        return self

    @property
    def pid(self) -> int:
        assert self._popen is not None, f"{self.name} was never started"
        return self._popen.pid

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def exit_status(self) -> int | None:
        """The exit status (negative: killed by that signal), None while it runs."""
        return None if self._popen is None else self._popen.poll()

    def signal(self, sig: signal.Signals) -> None:
        if self.running():
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the process and everything it started in its session (nginx's workers
        would outlive their master otherwise), and wait until it is gone."""
        if self._popen is None:
            return
        # Even when it is gone already: its session may hold processes still.
        kill_session(self.pid)
        self._popen.wait()
        # A killed process of the session is listed until its exit completes (an nginx worker
        # unmapping its 27 MiB of connections takes a moment): gone means gone.
        eventually(lambda: not session_members({self.pid}), 5.0, f"{self.name}'s session gone")

    def pause(self) -> None:
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.signal(signal.SIGCONT)

    def wait(self, timeout: float) -> int:
        """Waits for the exit and returns the status; raises `subprocess.TimeoutExpired`."""
        assert self._popen is not None
        return self._popen.wait(timeout)

    def wait_http(self, url: str, timeout: float = 15.0, status: int = 200) -> None:
        """Waits until `url` answers `status`; fails at once if the process exits meanwhile."""

        def answers() -> bool:
            if not self.running():
                raise ProcessExited(f"{self.name} exited with {self.exit_status()}: {self.stderr_tail()}")
            return httpclient.status_of(url, timeout=1.0) == status

        try:
            eventually(answers, timeout, f"{self.name}: {url} answers {status}")
        except ProcessExited:
            raise
        except AssertionError as err:
            raise AssertionError(f"{err}; stderr: {self.stderr_tail()}") from None

    def rss_kib(self) -> int:
        return resident_kib(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def log_lines(self) -> list[dict]:
        """Stdout as JSON objects, one per line (a line that is not JSON becomes
        `{"message": line}`)."""
        lines = []
        for line in self.stdout_path.read_text(errors="replace").splitlines():
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                value = None
            lines.append(value if isinstance(value, dict) else {"message": line})
        return lines

    def stderr_tail(self, lines: int = 5) -> str:
        text = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def __enter__(self) -> "Process":
        return self

    def __exit__(self, *_exc) -> None:
        self.kill()


def kill_session(sid: int) -> None:
    """SIGKILL to every process of the session `sid` (each child is the leader of its own
    session and process group, which its own children inherit unless they leave it)."""
    try:
        os.killpg(sid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in session_members({sid}):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def session_members(sessions: set[int]) -> list[int]:
    """The live processes (zombies aside) whose session is one of `sessions`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # After the command name (which may hold spaces and parentheses): state, ppid, pgrp, session.
        state, _ppid, _pgrp, session = stat[stat.rindex(")") + 2 :].split()[:4]
        if state != "Z" and int(session) in sessions:
            members.append(int(entry.name))
    return members


class ProcessExited(AssertionError):
    """A process that exited while it was expected to run."""
