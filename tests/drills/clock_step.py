"""Clock step: the poller's wall clock jumps ahead for three seconds and back (a bad NTP source, a
host resumed from suspend), as an independent attack did with libfaketime, while the market stays,
then moves: first 100 s ahead, then an hour, then an hour with every exchange going down during
the step and staying down after it (the samples last written are the ones stamped while the
clock was ahead, if any were). The poller keeps its time by the monotonic clock
(`service_kit::clock`), so no answer may ever present a price as of a time still to come, the
new price must be served once the market moves, and the step must not trim the real history
(docs/price-integrity.md).

Only the poller's clock steps (libfaketime, its monotonic clock left alone); api-a keeps the real
one, so it sees the poller's samples from the future.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

from harness import fixtures, httpclient
from harness.exchange import REFUSED
from harness.pod import ServiceAPod
from harness.probe import Prober
from harness.waiting import eventually

from .report import Context, Memory, Row

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
BEFORE = 100_000.0
STEPS = (("+100s", 95_000.0), ("+1h", 90_000.0))
"""Each step ahead, and the market's price once the clock is back."""
OUTAGE_STEP = "+20s"
"""The last step, during which every exchange goes down: within what api-a accepts from a clock
ahead (`MAX_CLOCK_AHEAD`), so only the poller's own clock can keep such a price from being served."""
INTERVAL = 1.0
STEP_SECONDS = 3.0


def run(context: Context) -> Row:
    steps = " then ".join(step for step, _ in STEPS)
    row = Row(
        "clock-step",
        injected=f"the poller's clock {steps} for {STEP_SECONDS:g} s each, the market moving; "
        f"then {OUTAGE_STEP} with every exchange going down",
    )
    if not LIBFAKETIME.exists():
        row.problems.append(f"{LIBFAKETIME} is missing (Debian package faketime)")
        return row
    context.workdir.mkdir(parents=True, exist_ok=True)
    offset = context.workdir / "faketime"
    offset.write_text("+0\n")
    pod = ServiceAPod(
        context.binaries,
        context.workdir,
        {p: BEFORE for p in fixtures.PROVIDERS},
        poll_interval=f"{INTERVAL:g}s",
        poller_env={
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME_TIMESTAMP_FILE": str(offset),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        },
    )
    with pod.start(), Prober(pod.api.url("/service1/current"), every=0.1, timeout=2.0) as prober:
        memory = Memory([pod.api, pod.poller])
        eventually(lambda: average(pod) is not None and average(pod)["samples"] >= 5, 15, "five samples")
        history = average(pod)["samples"]

        recoveries = []
        for step, price in STEPS:
            offset.write_text(f"{step}\n")
            time.sleep(STEP_SECONDS)
            offset.write_text("+0\n")
            corrected = time.monotonic()
            for provider in fixtures.PROVIDERS:
                pod.exchange.answer_ok(provider, price)
            followed = eventually(
                lambda: pod.current().status == 200 and pod.current().json()["price"] == price and time.monotonic(),
                10 * INTERVAL,
                f"the new price served once the clock is back from {step}",
            )
            recoveries.append(f"{step}: {followed - corrected:.2f} s")
        row.recovery = "new price after the clock was back: " + ", ".join(recoveries)
        offset.write_text(f"{OUTAGE_STEP}\n")
        time.sleep(STEP_SECONDS / 2)
        for provider in fixtures.PROVIDERS:
            pod.exchange.inject(provider, REFUSED)
        time.sleep(STEP_SECONDS / 2)
        offset.write_text("+0\n")
        time.sleep(4 * INTERVAL)
        answers = prober.stop()
        memory.measure_after()
        kept = average(pod)
    for answer in answers:
        if answer.status != 200:
            continue
        body = json.loads(answer.body)
        ahead = unix_time(body["as_of"]) - time_of(answer.at)
        if ahead > 1.0:
            row.problems.append(f"a price as of {ahead:.0f} s in the future: {body}")
            break
    row.expect(
        kept is not None and kept["samples"] >= history,
        f"the history before the step was trimmed: {history} samples, then {kept}",
    )
    row.expect(
        kept is not None and unix_time(kept["to"]) <= time.time() + 1,
        f"the average still counts a sample from the future: {kept}",
    )
    row.requests = len(answers)
    row.failures = sum(1 for a in answers if a.status != 200)
    row.memory = memory.text()
    return row


_CLOCKS = (time.time(), time.monotonic())


def time_of(monotonic: float) -> float:
    """The wall time at which `monotonic` was read, on this process's (unstepped) clock."""
    return _CLOCKS[0] + (monotonic - _CLOCKS[1])


def average(pod: ServiceAPod) -> dict | None:
    answer = httpclient.get(pod.api.url("/service1/average"), timeout=2.0)
    return answer.json() if answer.status == 200 else None


def unix_time(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()
