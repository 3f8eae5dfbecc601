"""Runs the drills and prints one table: `PYTHONPATH=tests python3 -m drills`.

Environment:
- `DRILLS=name,...`: only these (default: all, in the order below);
- `SOAK_SECONDS`: how long the soak lasts (default 60, as in CI);
- `DRILLS_LONG=1`: the longer local mode (every provider with every fault, longer floods);
- `DRILLS_BINARY_DIR=DIR`: drill the binaries (and the seed example, `DIR/examples/seed`)
  already built in DIR (e.g. another checkout's `target/release`) instead of building this
  checkout's;
- `DRILLS_REPORT`: where the table is written (default `target/drills/report.md`).
Exits 1 when a drill fails.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

from harness import binaries
from harness.processes import raise_open_files_limit

from . import (clock_step, connection_cap, hostile_clients, price_integrity, rate_limit, redis_faults, rolling_restart,
               soak, stuck_clients, upstream_chaos)
from .report import Context, Row, table

DRILLS: dict[str, Callable[[Context], Row]] = {
    "price-integrity": price_integrity.run,
    "clock-step": clock_step.run,
    "upstream-chaos": upstream_chaos.run,
    "redis-faults": redis_faults.run,
    "rolling-restart": rolling_restart.run,
    "hostile-clients": hostile_clients.run,
    "stuck-clients": stuck_clients.run,
    "connection-cap": connection_cap.run,
    "rate-limit": rate_limit.run,
    "soak": soak.run,
}


def selected() -> list[str]:
    names = [n.strip() for n in os.environ.get("DRILLS", "").split(",") if n.strip()] or list(DRILLS)
    unknown = [n for n in names if n not in DRILLS]
    if unknown:
        sys.exit(f"unknown drill(s): {', '.join(unknown)} (known: {', '.join(DRILLS)})")
    return names


def run_one(name: str, context: Context) -> Row:
    print(f"\n==> drill {name}", flush=True)
    started = time.monotonic()
    try:
        row = DRILLS[name](context)
    except Exception as err:  # noqa: BLE001 - a drill that crashes is a failed drill, reported
        traceback.print_exc()
        row = Row(drill=name, problems=[f"stopped early: {err}"])
    row.seconds = time.monotonic() - started
    verdict = "passed" if row.passed else "FAILED"
    print(f"    {name} {verdict} in {row.seconds:.0f} s; logs in {context.workdir}", flush=True)
    for problem in row.problems:
        print(f"    - {problem}", flush=True)
    return row


def main() -> int:
    names = selected()
    raise_open_files_limit()
    binary_dir = os.environ.get("DRILLS_BINARY_DIR")
    built = binaries.locate(Path(binary_dir)) if binary_dir else binaries.build_release()
    seed = binaries.locate_seed(Path(binary_dir)) if binary_dir else binaries.build_seed()
    root = binaries.REPO_ROOT / "target" / "drills"
    rows = []
    for name in names:
        workdir = root / name
        shutil.rmtree(workdir, ignore_errors=True)
        context = Context(
            binaries=built,
            seed=seed,
            workdir=workdir,
            long=os.environ.get("DRILLS_LONG") == "1",
            soak_seconds=int(os.environ.get("SOAK_SECONDS", "60")),
        )
        rows.append(run_one(name, context))
    report = table(rows)
    destination = Path(os.environ.get("DRILLS_REPORT", root / "report.md"))
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(report + "\n")
    print(f"\n{report}\n\n(written to {destination})")
    passed = sum(row.passed for row in rows)
    print(f"drills: {passed} passed, {len(rows) - passed} failed")
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
