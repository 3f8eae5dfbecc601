"""The `wrk` load generator (Debian's package), run in the background and its results read
from a JSON line its Lua `done` hook prints, not from its human-readable report.

Failures are both kinds a client sees: socket errors (connect, read, write, timeout) and
answers with a status of 400 or more (wrk's "Non-2xx or 3xx responses"). With `statuses=True`
the answers are also counted by status (a Lua hook on every response: slower, for drills only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .processes import Process

MARKER = "WRK_RESULT "

# Cycles through the paths given as arguments (one per request, per connection), and prints the
# summary as one JSON line at the end. With one path, `request` is removed: wrk then sends the
# request it formatted once instead of calling Lua for every request, which made wrk, not the
# server, the bottleneck at about 130,000 requests a second on one core.
SCRIPT = """
local paths, counter = {}, 0
function init(args)
  for i, path in ipairs(args) do paths[i] = path end
  if #paths == 0 then paths[1] = wrk.path end
  if #paths == 1 then request = nil end
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
    .. '"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    "MARKER", summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
""".replace("MARKER", MARKER)

# The same, and each thread counts its answers by status; the summary adds them up.
STATUS_SCRIPT = SCRIPT.replace(
    "local paths, counter = {}, 0",
    """local paths, counter, threads = {}, 0, {}
statuses = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
local function counted()
  local all, parts = {}, {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do all[status] = (all[status] or 0) + count end
  end
  for status, count in pairs(all) do table.insert(parts, string.format('"%d":%d', status, count)) end
  return "{" .. table.concat(parts, ",") .. "}"
end""",
).replace('"p50_us":%d,"p99_us":%d,"max_us":%d}', '"p50_us":%d,"p99_us":%d,"max_us":%d,"statuses":%s}').replace(
    "latency:percentile(50), latency:percentile(99), latency.max))",
    "latency:percentile(50), latency:percentile(99), latency.max, counted()))",
)


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    error_statuses: int
    """Answers with a status of 400 or more."""
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int] = field(default_factory=dict)
    """Answers by status, when counted (`statuses=True`)."""

    @property
    def failures(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors + self.timeouts + self.error_statuses

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def describe_failures(self) -> str:
        return (
            f"connect {self.connect_errors}, read {self.read_errors}, write {self.write_errors}, "
            f"timeout {self.timeouts}, status>=400 {self.error_statuses}"
        )


class Wrk:
    """One wrk run against `base_url`, cycling through `paths`."""

    def __init__(
        self,
        workdir: Path,
        base_url: str,
        paths: list[str],
        seconds: float,
        connections: int = 32,
        threads: int = 2,
        timeout: str = "2s",
        name: str = "wrk",
        statuses: bool = False,
        cpu: int | None = None,
    ):
        """`cpu`: the one core wrk runs on (taskset), for figures that leave the other cores to
        the server."""
        workdir.mkdir(parents=True, exist_ok=True)
        script = workdir / f"{name}.lua"
        script.write_text(STATUS_SCRIPT if statuses else SCRIPT)
        pinned = [] if cpu is None else ["taskset", "--cpu-list", str(cpu)]
        self.process = Process(
            name,
            [
                *pinned, "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                f"--timeout={timeout}", "-s", str(script), base_url + paths[0], "--", *paths,
            ],
            workdir,
        )  # fmt: skip
        self.seconds = seconds

    def start(self) -> "Wrk":
        self.process.start()
        return self

    def result(self) -> WrkResult:
        """Waits for the run to end and reads its summary."""
        self.process.wait(self.seconds + 30)
        return parse(self.process.stdout_path.read_text())

    def __enter__(self) -> "Wrk":
        return self

    def __exit__(self, *_exc) -> None:
        self.process.kill()


def parse(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            return WrkResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                connect_errors=data["connect"],
                read_errors=data["read"],
                write_errors=data["write"],
                timeouts=data["timeout"],
                error_statuses=data["status"],
                p50_ms=data["p50_us"] / 1e3,
                p99_ms=data["p99_us"] / 1e3,
                max_ms=data["max_us"] / 1e3,
                statuses={int(status): count for status, count in data.get("statuses", {}).items()},
            )
    raise ValueError(f"no wrk summary in its output: {output[-500:]!r}")


def run(workdir: Path, base_url: str, paths: list[str], seconds: float, **kwargs) -> WrkResult:
    """One run, waited for."""
    with Wrk(workdir, base_url, paths, seconds, **kwargs) as load:
        return load.start().result()
