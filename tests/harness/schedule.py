"""How `tests/run` runs its suites: side by side where they do not compete for what they measure.

Python's standard library only, run by the machine's python3 before any environment exists
(`tests/run` calls `python3 -m harness.schedule SUITE...` from tests/). The service images are
built once, first, as a job of their own (`IMAGES`: tests/stack/images.sh, as `docker compose up
--build` builds them), and their binaries copied out into `BUILT`; every suite that runs the
release binaries on the host runs those (`BINARY_DIR`), so it tests what ships and no second
release build competes for the cores. The Python test environments are made as another job, while
the compiler runs. Then the suites, two at a time at most, by their load:

- `cpu`: a compiler or a CPU-bound checker (cargo, Docker builds, Schemathesis, checkov, the
  aks mutants): one of the machine's two cores each;
- `light`: mostly waiting (on Prometheus's alerts, a registry, installs): half a core;
- `brief`: seconds of work (the Python environments synced from uv's cache): no core, so that
  the first compilers start beside it;
- `timing`: measures latency or throughput (the drills, the benchmark): runs alone, once
  every other job has ended, and none starts while it runs (whatever ran beside it, even a
  suite waiting on Prometheus's alerts, would be in its figures: a hostile-clients drill beside
  the observability suite missed its 100 ms);
- `docker`: uses the Docker engine; one such job at a time.

A job starts once the jobs it needs have passed; one whose need failed fails without running.
A job may also come after others without needing them: it waits for those of them that are
planned to end, passed or not (the supply-chain suite takes the image build's cargo-cyclonedx
when there is one, rather than compiling it again, and compiles it itself when there is none).
Each job's output goes to target/test-run/NAME.log and is printed whole when it ends (a suite run
alone prints as it goes). Then the times, one line `suites: N passed, N failed`, and the leak
check (no nginx, Redis or service process of this checkout left: `harness.leaks`). Exits 1 if a
job failed or a process was left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "target" / "test-run"
CORES = 2.0
WEIGHT = {"cpu": 1.0, "light": 0.5, "timing": 1.0, "brief": 0.0}


@dataclass(frozen=True)
class Job:
    name: str
    argv: tuple[str, ...]
    load: str
    needs: tuple[str, ...] = ()
    docker: bool = False
    after: tuple[str, ...] = ()


BUILT = ROOT / "target" / "images"
IMAGES = Job("images", ("tests/stack/images.sh", str(BUILT)), "cpu", docker=True)
PYTHON = Job("python environments", ("bash", "-c", "source tests/lib.sh && require_python_env && require_python_group nca"), "brief")


def suite(name: str, load: str, needs: tuple[str, ...] = (), docker: bool = False, after: tuple[str, ...] = ()) -> Job:
    return Job(name, (f"tests/suites/{name}.sh",), load, needs, docker, after)


# In the order they are started when several could: the measuring last; the Rust suite's
# compiles beside the image build (the longest job, which the Docker suites and the suites that
# run the binaries wait for).
SUITES = {
    job.name: job
    for job in (
        suite("rust", "cpu"),
        suite("stack", "cpu", (IMAGES.name,), docker=True),
        suite("manifests", "cpu", (PYTHON.name,)),
        suite("aks", "cpu", (PYTHON.name,)),
        suite("pod", "cpu", docker=True),
        suite("contract", "cpu", (PYTHON.name, IMAGES.name)),
        suite("browser", "cpu", (PYTHON.name, IMAGES.name)),
        suite("supply-chain", "light", after=(IMAGES.name,)),
        suite("observability", "light", (PYTHON.name, IMAGES.name), docker=True),
        suite("drills", "timing", (PYTHON.name, IMAGES.name), docker=True),
        suite("bench", "timing", (PYTHON.name, IMAGES.name)),
    )
}


def plan(names: list[str]) -> list[Job]:
    """The suites named and the jobs they need, in the order they are started when several could:
    the Python environments (no core), the images, then the suites in `SUITES`' order."""
    jobs = [SUITES[name] for name in SUITES if name in names]
    needed = {need for job in jobs for need in job.needs}
    return [job for job in (PYTHON, IMAGES) if job.name in needed] + jobs


@dataclass
class Running:
    job: Job
    process: subprocess.Popen
    started: float


def ready(job: Job, done: dict[str, tuple[bool, float]], planned: set[str]) -> bool:
    """Whether the jobs `job` needs have ended, and those it comes after that are `planned`."""
    return all(need in done for need in job.needs) and all(name in done for name in job.after if name in planned)


def can_start(job: Job, running: list[Running]) -> bool:
    loads = [r.job.load for r in running]
    if sum(WEIGHT[load] for load in loads) + WEIGHT[job.load] > CORES:
        return False
    if job.docker and any(r.job.docker for r in running):
        return False
    if job.load == "timing":
        return not running
    return "timing" not in loads


def run(jobs: list[Job], live: str | None = None) -> dict[str, tuple[bool, float]]:
    """Runs `jobs` as the module says, the output of `live` as it comes; each job's outcome
    (passed, seconds). Interrupted (Ctrl-C, SIGTERM), it stops every job it started, each job's
    process group whole."""
    LOGS.mkdir(parents=True, exist_ok=True)
    running: list[Running] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return schedule(jobs, live, running)
    finally:
        for entry in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(entry.process.pid, signal.SIGTERM)


def schedule(jobs: list[Job], live: str | None, running: list[Running]) -> dict[str, tuple[bool, float]]:
    waiting, done, planned = list(jobs), {}, {job.name for job in jobs}
    while waiting or running:
        for job in list(waiting):
            if any(need in done and not done[need][0] for need in job.needs):
                waiting.remove(job)
                done[job.name] = (False, 0.0)
                print(f"==> {job.name}: not run, {', '.join(job.needs)} failed", flush=True)
            elif ready(job, done, planned) and can_start(job, running):
                waiting.remove(job)
                output = None if job.name == live else open(LOGS / f"{job.name}.log", "wb")
                print(f"==> {job.name}: started ({job.load})", flush=True)
                process = subprocess.Popen(job.argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=output,
                                           stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
                running.append(Running(job, process, time.monotonic()))
        for entry in list(running):
            if entry.process.poll() is None:
                continue
            running.remove(entry)
            seconds = time.monotonic() - entry.started
            passed = entry.process.returncode == 0
            done[entry.job.name] = (passed, seconds)
            if entry.job.name != live:
                sys.stdout.write(f"\n######## {entry.job.name}\n")
                sys.stdout.write((LOGS / f"{entry.job.name}.log").read_text(errors="replace"))
            print(f"==> {entry.job.name}: {'passed' if passed else 'FAILED'} in {seconds:.0f} s", flush=True)
        time.sleep(0.2)
    return done


def leak_check() -> bool:
    """No nginx, Redis or service process of this checkout left (`harness.leaks`)."""
    return subprocess.run([sys.executable, "-m", "harness.leaks"], cwd=Path(__file__).resolve().parents[1]).returncode == 0


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in SUITES]
    if unknown:
        print(f"unknown suite: {', '.join(unknown)} (one of: {' '.join(SUITES)})", file=sys.stderr)
        return 2
    started = time.monotonic()
    jobs = plan(names)
    if IMAGES in jobs:
        os.environ.setdefault("BINARY_DIR", str(BUILT))
    outcomes = run(jobs, live=names[0] if len(names) == 1 else None)
    print("\n| job | result | seconds |\n|---|---|---|")
    for job in jobs:
        passed, seconds = outcomes[job.name]
        print(f"| {job.name} | {'pass' if passed else 'FAIL'} | {seconds:.0f} |")
    print(f"| total (wall) | | {time.monotonic() - started:.0f} |\n")
    clean = leak_check()
    suites = [outcomes[name][0] for name in names]
    print(f"suites: {suites.count(True)} passed, {suites.count(False)} failed")
    if not clean:
        print("FAILED: processes left behind (above)")
    return 0 if clean and all(passed for passed, _ in outcomes.values()) else 1


if __name__ == "__main__":
    os.environ.setdefault("CARGO_TERM_COLOR", "never")
    sys.exit(main(sys.argv[1:] or list(SUITES)))
