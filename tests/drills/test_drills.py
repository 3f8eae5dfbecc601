"""The reliability drills (`tests/run drills`), one test each, against the release binaries, a
real redis-server, a real nginx running gateway/nginx.conf, wrk and a fake exchange. Every
expectation a drill records (`Row.expect`) is one of its checks; a drill passes when none is
broken, and one that stops early fails with what stopped it. The table of the drills run is
printed at the end and written to target/drills/report.md; each drill's logs stay in
target/drills/NAME/.

Environment:
- `DRILLS=name,...`: only these (default: all, in the order of `DRILLS`);
- `DRILLS_LONG=1`: the longer local mode (every provider with every fault, longer floods, a soak
  of 60 s instead of CI's 30 s);
- `SOAK_SECONDS`: how long the soak lasts, in either mode;
- `BINARY_DIR=DIR`: drill the binaries already built in DIR (e.g. another checkout's
  `target/release`; `tests/run` sets it to the binaries of the images it built) instead of
  building this checkout's.
"""

from __future__ import annotations

import os
import time
from typing import Callable

import pytest

from drills import (clock_step, connection_cap, hostile_clients, price_integrity, rate_limit, redis_faults, rolling_restart,
                    soak, stuck_clients, upstream_chaos)
from drills.report import Context, Row, table

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

SOAK_SECONDS = {False: "30", True: "60"}
"""The soak's length by mode: CI's, then the long one's; the drills run alone, so each second of
them is a second of `tests/run`."""


def selected() -> list[str]:
    names = [n.strip() for n in os.environ.get("DRILLS", "").split(",") if n.strip()] or list(DRILLS)
    unknown = [n for n in names if n not in DRILLS]
    if unknown:
        raise pytest.UsageError(f"unknown drill(s): {', '.join(unknown)} (known: {', '.join(DRILLS)})")
    return names


@pytest.fixture(scope="module")
def rows(workdir, report) -> list[Row]:
    """Every drill's row, in the order run; the table once they are done."""
    rows: list[Row] = []
    yield rows
    text = table(rows)
    (workdir / "report.md").write_text(text + "\n")
    report.add("drills", text)


@pytest.mark.parametrize("name", selected())
def test_the_drill_holds_every_expectation(name: str, binaries, seed, workdir, rows: list[Row]):
    long = os.environ.get("DRILLS_LONG") == "1"
    context = Context(
        binaries=binaries,
        seed=seed,
        workdir=workdir / name,
        long=long,
        soak_seconds=int(os.environ.get("SOAK_SECONDS", SOAK_SECONDS[long])),
    )
    started = time.monotonic()
    try:
        row = DRILLS[name](context)
    except Exception as err:
        rows.append(Row(drill=name, problems=[f"stopped early: {err}"], seconds=time.monotonic() - started))
        raise
    row.seconds = time.monotonic() - started
    rows.append(row)
    assert row.problems == [], f"{name}: logs in {context.workdir}"
