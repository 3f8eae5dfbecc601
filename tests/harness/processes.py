"""Child processes under test: free ports, start with an environment, signals, exit status,
captured logs, and resident memory and CPU time read from /proc.

Every child gets its own session, so a signal reaches that process alone, and writes stdout
and stderr to files in a work directory: the logs stay readable after a failed run.
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
        """SIGKILL, and wait until it is gone."""
        self.signal(signal.SIGKILL)
        if self._popen is not None:
            self._popen.wait()

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


class ProcessExited(AssertionError):
    """A process that exited while it was expected to run."""
