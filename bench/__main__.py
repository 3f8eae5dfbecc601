"""Runs the benchmark: `bench/run [--smoke] [--pinned [--profile]]` (which calls `python -m bench`
in the test project's environment). `--pinned` measures the CPU table only and prints it, writing
no report; `--profile` (with `--pinned`) records each server with perf during the first round
(see `profile`).

Order: the direct targets on a pinned stack (one worker each, CPU per request); then everything
started (see `stack`); the pods at rest (idle CPU and memory); every target under wrk, round
after round; each binary's exec to ready and the poller's CPU per tick; the
images. Then the tables, the goals, and the report written to `RESULTS`.
Exits 1 when a measurement cannot be trusted (errors under load, connections not held), never
because a goal is missed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from harness import binaries as harness_binaries
from harness.binaries import REPO_ROOT, Binaries
from harness.processes import raise_open_files_limit
from harness.redis import RedisServer
from harness.services import SERVICE_A_BASE_PATH, SERVICE_B_BASE_PATH, start_poller

from . import footprint, goals, load, report, rest
from .figures import Figures, Load
from .settings import Settings, read, usage
from .stack import Stack
from .targets import WINDOWS, all_targets, pinned_targets

WORKDIR = REPO_ROOT / "target" / "bench"


def binaries_and_seed(settings: Settings) -> tuple[Binaries, Path]:
    if settings.binary_dir is not None:
        return harness_binaries.locate(settings.binary_dir), harness_binaries.build_seed()
    return harness_binaries.build_release(), harness_binaries.build_seed()


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def at_rest(stack: Stack, settings: Settings, figures: Figures) -> None:
    step(f"the pods at rest for {settings.idle_cpu_seconds:g} s")
    figures.windows = rest.measure(stack.pods, settings.idle_cpu_seconds)
    figures.rss_idle_kib["api-a"] = figures.windows[WINDOWS[0].key].api_rss_kib
    figures.rss_idle_kib["api-b"] = stack.processes["api-b"].rss_kib()


def cpu_per_request(built: Binaries, seed: Path, settings: Settings, figures: Figures, profiled: bool) -> None:
    """The main table: each server on one worker pinned to one core, wrk on the other, the
    server's CPU time per request read from /proc."""
    step("CPU per request: each server on one worker, pinned to one core")
    targets = pinned_targets()
    with Stack(built, seed, WORKDIR / "pinned", idle_timeout_seconds=75, pinned=True).start() as stack:
        load.body_sizes(stack, targets)
        profiles = WORKDIR / "flames" if profiled else None
        runs, _ = load.run_rounds(stack, targets, settings, WORKDIR / "wrk-pinned", profiles)
    figures.pinned = {target.label: Load(target, runs[target.label]) for target in targets}


def under_load(stack: Stack, settings: Settings, figures: Figures) -> None:
    targets = all_targets()
    step(f"{len(targets)} targets, {settings.rounds} round(s) of {settings.duration} s each")
    figures.body_bytes = load.body_sizes(stack, targets)
    runs, idle = load.run_rounds(stack, targets, settings, WORKDIR / "wrk")
    figures.load = {target.label: Load(target, runs[target.label]) for target in targets}
    figures.idle_connections_rss_kib = idle.rss_kib
    figures.rss_loaded_kib["api-a"] = stack.processes["api-a"].rss_kib()
    figures.rss_loaded_kib["api-b"] = stack.processes["api-b"].rss_kib()
    figures.window_rss_loaded_kib = {key: pod.api.process.rss_kib() for key, pod in stack.pods.items()}


def starts_and_ticks(stack: Stack, built: Binaries, settings: Settings, figures: Figures) -> None:
    step(f"exec to ready, {settings.ready_runs} start(s) per binary")
    workdir = WORKDIR / "ready"
    first, longest = stack.pods[WINDOWS[0].key], stack.pods[WINDOWS[-1].key]
    with RedisServer(WORKDIR / "ticks").start() as ticks_redis:
        poller_env = {"REDIS_URL": ticks_redis.url, **stack.exchange.env()}
        starts = {
            "api-a": (built.api_a, {"REDIS_URL": first.redis.url, "BASE_PATH": SERVICE_A_BASE_PATH}),
            "api-b": (built.api_b, {"BASE_PATH": SERVICE_B_BASE_PATH}),
            "poller": (built.poller, poller_env),
            f"api-a @ {WINDOWS[-1].key}": (
                built.api_a,
                {"REDIS_URL": longest.redis.url, "BASE_PATH": SERVICE_A_BASE_PATH,
                 "AVERAGE_WINDOW": WINDOWS[-1].average_window},
            ),
        }  # fmt: skip
        for name, (binary, env) in starts.items():
            figures.ready_ms[name] = footprint.exec_to_ready(name, binary, env, workdir, settings.ready_runs)
            print(f"{name:<12} {figures.ready_median_ms(name):6.1f} ms", flush=True)

        step(f"the poller's CPU per tick over {settings.tick_seconds:g} s of {footprint.TICK_INTERVAL} ticks")
        env = {"POLL_INTERVAL": footprint.TICK_INTERVAL, "FETCH_TIMEOUT": footprint.TICK_FETCH_TIMEOUT}
        with start_poller(built, WORKDIR / "ticks", ticks_redis.url, stack.exchange.env(), env=env) as poller:
            figures.tick = footprint.poller_tick_cost(poller.process, poller.url(), settings.tick_seconds)
        figures.rss_idle_kib["poller"] = figures.tick.rss_idle_kib
        figures.rss_loaded_kib["poller"] = figures.tick.rss_after_kib
        print(f"{figures.tick.cpu_ms_per_tick:.2f} ms per tick over {figures.tick.ticks} ticks", flush=True)


def main(argv: list[str]) -> int:
    if not set(argv) <= {"--smoke", "--pinned", "--profile"} or len(set(argv)) != len(argv):
        print(__doc__ + "\n" + usage())
        return 0 if argv[0] in ("-h", "--help") else 2
    settings = read(smoke="--smoke" in argv)
    raise_open_files_limit()
    about = report.machine(settings.binary_dir)
    step("building the release binaries and the seed example")
    built, seed = binaries_and_seed(settings)
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)

    figures = Figures(idle_connections=settings.idle_connections)
    paths = {"api-a": built.api_a, "api-b": built.api_b, "poller": built.poller}
    figures.sizes = {name: footprint.binary_size(path) for name, path in paths.items()}
    idle_timeout = load.idle_hold_seconds(settings) + 60
    try:
        cpu_per_request(built, seed, settings, figures, profiled="--profile" in argv)
        if "--pinned" in argv:
            print("\n" + report.pinned_table(figures))
            return 0
        step("starting the stack: a pod per window (seeded), api-b, nginx, two gateways")
        with Stack(built, seed, WORKDIR / "stack", idle_timeout).start() as stack:
            at_rest(stack, settings, figures)
            under_load(stack, settings, figures)
            starts_and_ticks(stack, built, settings, figures)
    except load.BenchError as err:
        print(f"\nbench: FAILED: {err} (logs in {WORKDIR})", file=sys.stderr)
        return 1
    step("images")
    figures.images = footprint.image_sizes()

    about["load average at the end"] = report.load_average()
    verdicts = goals.judge(figures)
    text = report.results_markdown(settings, about, figures, verdicts)
    settings.results.parent.mkdir(parents=True, exist_ok=True)
    previous = settings.results.read_text() if settings.results.exists() else None
    text = report.with_profiles(text, previous)
    settings.results.write_text(text)
    print("\n" + text)
    print(f"(written to {settings.results})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
