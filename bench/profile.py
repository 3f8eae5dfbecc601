"""Where a server's CPU goes: `perf record` on the server's process while wrk runs against it
(the pinned table's first round, `bench/run --pinned --profile`), then the functions that cost
most, by self time, and a flame graph (inferno's, installed by `cargo install inferno`) in
`target/bench/flames/`.

Profiles need symbols: the release binaries are stripped, so build the profiled ones with
`CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
RUSTFLAGS="-C force-frame-pointers=yes"` into a target directory of their own and pass it as
`BINARY_DIR`.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from pathlib import Path

from harness.processes import Process

# Samples per second: enough for a 10 s run to name every function above 1 %.
FREQUENCY = 1999
# The functions listed per target.
TOP = 12


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


class Recording:
    """`perf record -g` on `pids` (a server's processes: nginx's workers do its work, not its
    master) for as long as the recording is open."""

    def __init__(self, workdir: Path, label: str, pids: list[int]):
        self.data = workdir / f"{slug(label)}.perf.data"
        self.label = label
        workdir.mkdir(parents=True, exist_ok=True)
        argv = ["perf", "record", "-F", str(FREQUENCY), "-g", "-p", ",".join(map(str, pids)), "-o", str(self.data)]
        self.process = Process(f"perf-{slug(label)}", argv, workdir)

    def __enter__(self) -> "Recording":
        if shutil.which("perf") is None:
            raise SystemExit("bench: --profile needs perf (apt-get install linux-perf)")
        self.process.start()
        return self

    def __exit__(self, *_exc) -> None:
        # perf writes its data when interrupted.
        self.process.signal(signal.SIGINT)
        self.process.wait(60)


def top_functions(data: Path) -> list[tuple[float, str]]:
    """The functions with the most self time: (percent of the samples, symbol)."""
    return shares(data, "symbol")[:TOP]


def shares(data: Path, key: str) -> list[tuple[float, str]]:
    """The samples' shares by `key` (perf report's sort key: symbol, dso), largest first."""
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--no-children", "--sort", key, "--fields", f"overhead,{key}",
         "--stdio", "-g", "none", "--percent-limit", "0.5"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = []
    for line in report.splitlines():
        match = re.match(r"\s*([\d.]+)%\s+(.*)", line)
        if match and not line.startswith("#"):
            found.append((float(match.group(1)), match.group(2).strip()))
    return sorted(found, reverse=True)


def flame_graph(data: Path, svg: Path) -> Path | None:
    """The recording as a flame graph; None when inferno is not installed."""
    collapse, draw = shutil.which("inferno-collapse-perf"), shutil.which("inferno-flamegraph")
    if collapse is None or draw is None:
        return None
    script = subprocess.run(["perf", "script", "-i", str(data)], capture_output=True, check=True).stdout
    folded = subprocess.run([collapse], input=script, capture_output=True, check=True).stdout
    svg.parent.mkdir(parents=True, exist_ok=True)
    svg.write_bytes(subprocess.run([draw], input=folded, capture_output=True, check=True).stdout)
    return svg


def summary(recording: Recording, flames: Path) -> str:
    svg = flame_graph(recording.data, flames / f"{slug(recording.label)}.svg")
    where = ", ".join(f"{name} {percent:.0f} %" for percent, name in shares(recording.data, "dso"))
    lines = [f"{recording.label}: {svg or 'no flame graph (cargo install inferno)'}", f"  by object: {where}"]
    lines += [f"  {percent:5.1f} %  {symbol}" for percent, symbol in top_functions(recording.data)]
    return "\n".join(lines)
