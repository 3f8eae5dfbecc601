"""The run's tables (Markdown, readable in a terminal too), the machine it ran on, and
`RESULTS.md`."""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
from pathlib import Path

from harness.binaries import REPO_ROOT

from .figures import Figures
from .goals import KIB_PER_MIB, Verdict
from .load import idle_hold_seconds
from .settings import Settings
from .stack import CLIENT_CPU, SERVER_CPU
from .targets import TARGETS, WINDOWS, window_label


# A figure, perhaps with its unit and a parenthesis: right-aligned in a table.
NUMBER = re.compile(r"^(-|[\d.,]+ ?(×|%|ms|MiB|MB)?( \(.*\))?)$")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table with padded columns; numbers (and "-") right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def numeric(cell: str) -> bool:
        return NUMBER.match(cell) is not None

    def line(cells: list[str]) -> str:
        padded = [c.rjust(w) if numeric(c) else c.ljust(w) for c, w in zip(cells, widths)]
        return "| " + " | ".join(padded) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), separator, *(line(row) for row in rows)])


def mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / KIB_PER_MIB:.1f} MiB"


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}×"


def load_table(figures: Figures) -> str:
    rows = []
    for label, load in figures.load.items():
        low, high = load.spread
        body = figures.body_bytes.get(label)
        rows.append([
            label, rate(load.rate), f"{load.p50_ms:.2f}", f"{load.p99_ms:.2f}", ratio(figures.ratio(label)),
            load.target.versus or "(yardstick)", f"{load.cpu_us_per_request:.1f}", "-" if body is None else f"{body:,}",
            f"{rate(low)} – {rate(high)}",
        ])  # fmt: skip
    headers = [
        "target", "req/s", "p50 ms", "p99 ms", "ratio", "compared with", "server CPU µs/req", "body bytes",
        "req/s per round, low – high",
    ]  # fmt: skip
    return table(headers, rows)


def pinned_table(figures: Figures) -> str:
    rows = []
    for label, load in figures.pinned.items():
        cpu = [run.cpu_us_per_request for run in load.runs]
        rows.append([
            label, f"{load.cpu_us_per_request:.1f}", ratio(figures.cpu_ratio(label)), f"{min(cpu):.1f} – {max(cpu):.1f}",
            rate(load.rate), f"{load.p50_ms:.2f}", f"{load.p99_ms:.2f}",
        ])  # fmt: skip
    headers = ["target", "server CPU µs/req", "× nginx", "µs/req per round, low – high", "req/s", "p50 ms", "p99 ms"]
    return table(headers, rows)


def footprint_table(figures: Figures) -> str:
    rows = []
    for name, size in figures.sizes.items():
        ready = figures.ready_ms.get(name, [])
        ready_cell = f"{figures.ready_median_ms(name):.1f} ({min(ready):.1f} – {max(ready):.1f})" if ready else "-"
        rows.append([
            name, f"{size.stripped / 1e6:.2f} MB", mib(figures.rss_idle_kib.get(name)),
            mib(figures.rss_loaded_kib.get(name)), ready_cell,
        ])  # fmt: skip
    headers = ["binary", "stripped size", "RSS idle", "RSS after load", "exec → /readyz 200, ms: median (min – max)"]
    return table(headers, rows)


def footprint_notes(figures: Figures) -> list[str]:
    notes = [
        "RSS idle: api-a (holding the 10 m window) after the rest period and api-b, before any load; the poller "
        "after its first tick. After load: api-a and api-b after every round; the poller after its ticks below.",
    ]
    peak = figures.idle_connections_rss_peak_kib()
    if peak is not None:
        rounds = ", ".join(mib(kib) for kib in figures.idle_connections_rss_kib)
        notes.append(f"api-a holding {figures.idle_connections:,} idle connections: RSS {mib(peak)} at most ({rounds}).")
    if figures.tick is not None:
        tick = figures.tick
        notes.append(
            f"poller: {tick.cpu_ms_per_tick:.2f} ms of CPU per tick over {tick.ticks} ticks (100 ms ticks, three "
            "providers on a local fake exchange over plain HTTP: TLS to the real exchanges costs more)."
        )
    for name, runs in figures.ready_ms.items():
        if name not in figures.sizes:
            notes.append(f"{name}: exec → /readyz 200 in {figures.ready_median_ms(name):.1f} ms (median of {len(runs)}).")
    if isinstance(figures.images, str):
        notes.append(f"Images: {figures.images}.")
    else:
        for image in figures.images:
            if image.reference is None:
                notes.append(f"Image btc-price/{image.service}: none built (`docker compose build`).")
            else:
                notes.append(f"Image {image.reference}: {image.bytes / 1e6:.2f} MB (built {image.created} UTC).")
    return notes


def window_table(figures: Figures) -> str:
    windowed = [target for target in TARGETS if target.windows]
    rows = []
    for window in WINDOWS:
        idle = figures.windows.get(window.key)
        cells = [
            window.label, f"{window.samples:,}",
            "-" if idle is None else f"{idle.api_cpu_percent:.2f} %",
            "-" if idle is None else f"{idle.redis_cpu_percent:.2f} %",
            mib(idle.api_rss_kib if idle else None), mib(figures.window_rss_loaded_kib.get(window.key)),
        ]  # fmt: skip
        for target in windowed:
            label = target.label if window is WINDOWS[0] else window_label(target, window)
            share = figures.ratio(label) if window is not WINDOWS[0] else 1.0
            cells.append(f"{rate(figures.rate(label))} ({ratio(share)})")
        rows.append(cells)
    headers = ["window", "samples", "api-a CPU at rest", "Redis CPU at rest", "api-a RSS at rest", "after load"]
    headers += [f"{target.path.rsplit('/', 1)[-1]} req/s (× 10 m)" for target in windowed]
    return table(headers, rows)


def goals_summary(verdicts: list[Verdict], smoke: bool) -> str:
    counts = {word: sum(v.word == word for v in verdicts) for word in ("met", "MISSED", "not measured")}
    summary = ", ".join(f"{count} {word.lower()}" for word, count in counts.items() if count)
    if smoke:
        return f"{summary}. A smoke run's figures come from a few seconds each: indicative only, not judged."
    return f"{summary}. Printed, never enforced: no threshold fails a run."


def goals_table(verdicts: list[Verdict]) -> str:
    return table(["goal", "figure", "limit", "verdict"], [list(v.cells()) for v in verdicts])


def first_line(argv: list[str]) -> str:
    """The first line `argv` prints (some tools print their version on stderr), "?" if none."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except OSError:
        return "not found"
    output = (done.stdout + done.stderr).strip()
    return output.splitlines()[0] if done.returncode in (0, 1) and output else "?"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine(binary_dir: Path | None) -> dict[str, str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or "?",
    )  # fmt: skip
    memory_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    os_name = next(
        (line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
         if line.startswith("PRETTY_NAME=")),
        "?",
    )  # fmt: skip
    return {
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU": cpu,
        "memory": f"{memory_kib / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "system": os_name,
        "load average at the start (1, 5, 15 min)": load_average(),
        "commit": first_line(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"]),
        "binaries": str(binary_dir) if binary_dir else "built from this checkout (cargo build --release)",
        "rustc": first_line(["rustc", "--version"]),
        "nginx": first_line(["nginx", "-v"]),
        "wrk": first_line(["wrk", "--version"]),
        "redis-server": first_line(["redis-server", "--version"]),
    }


def commands(settings: Settings) -> list[str]:
    return [
        settings.command,
        f"  pinned: each server on one worker (TOKIO_WORKER_THREADS=1, nginx worker_processes 1) on CPU {SERVER_CPU}; "
        f"taskset --cpu-list {CLIENT_CPU} wrk -t1 -c{settings.connections} -d{settings.duration}s ...",
        f"  wrk -t{settings.threads} -c{settings.connections} -d{settings.duration}s --timeout=2s -s <summary.lua> URL"
        " (one run per target per round)",
        f"  idle connections: {settings.idle_connections:,}, each after one answered GET, held "
        f"{idle_hold_seconds(settings)} s",
    ]


def results_markdown(settings: Settings, about: dict[str, str], figures: Figures, verdicts: list[Verdict]) -> str:
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    kind = "smoke run (a few seconds per target: the figures are not worth judging)" if settings.smoke else "full run"
    parts = [
        "# Benchmark results",
        "",
        f"Written by `bench/run` on {date}: {kind}. Every target ran once per round, "
        f"{settings.rounds} round(s) of {settings.duration} s, in alternating order; figures are medians over "
        "the rounds. In the throughput table wrk, nginx, Redis and the services share this machine's cores "
        "(nothing is pinned), so absolute figures depend on the machine and its neighbours, and the ratios are "
        "comparable within one run only; CPU per request, pinned, depends much less on them.",
        "",
        "## Machine",
        "",
        *(f"- {name}: {value}" for name, value in about.items()),
        "",
        "## Commands",
        "",
        "```sh",
        *commands(settings),
        "```",
        "",
        f"## CPU per request: one worker pinned to one core ({settings.connections} connections)",
        "",
        "What a replica limited to one core pays per answer: each server on one worker thread (nginx one worker "
        f"process), every thread of it on CPU {SERVER_CPU}, wrk (one thread) on CPU {CLIENT_CPU}; the server's "
        "user + system CPU time from /proc over each run, divided by the requests answered. Medians of the rounds.",
        "",
        pinned_table(figures),
        "",
        f"## Throughput and latency, every core ({settings.connections} connections)",
        "",
        load_table(figures),
        "",
        "## Footprint",
        "",
        footprint_table(figures),
        "",
        *(f"- {note}" for note in footprint_notes(figures)),
        "",
        "## Windows (api-a's AVERAGE_WINDOW, seeded; the poller adds a sample every interval)",
        "",
        window_table(figures),
        "",
        "## Goals",
        "",
        goals_summary(verdicts, settings.smoke),
        "",
        goals_table(verdicts),
        "",
    ]
    return "\n".join(parts)


PROFILES = "## Profiles"


def with_profiles(text: str, previous: str | None) -> str:
    """`text` followed by the previous report's profiles section (written by hand from
    `bench/run --pinned --profile`, see `profile`), which a run does not measure again."""
    if not previous or PROFILES not in previous:
        return text
    return text.rstrip("\n") + "\n\n" + previous[previous.index(PROFILES):]
