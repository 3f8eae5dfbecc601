"""Redis faults: the pod's Redis killed and restarted on the same port, then frozen and thawed,
then restarted with its append-only file, while a client keeps asking api-a.

Expected (docs/api.md and docs/design.md): api-a answers 503 JSON within 1 s and no request
hangs; the poller keeps ticking, logs the outage once and writes what it held back when Redis
returns; api-a answers 200 again within 2 s of Redis answering, without a restart; with the
append-only file the window's samples survive a restart, so the average is unchanged.
"""

from __future__ import annotations

import json
import time

from harness import httpclient, prometheus
from harness.exchange import REFUSED
from harness.pod import ServiceAPod
from harness.probe import Answer, Prober
from harness.waiting import eventually

from .report import Context, Memory, Row, seconds

PRICES = {"kraken": 80_000.0, "gemini": 80_010.0, "bitfinex": 80_020.0}
OUTAGE = 3.0
"""Seconds each fault lasts: three ticks held back."""
FIRST_503_WITHIN = 1.0
BACK_WITHIN = 2.0
HANG = 1.0
"""An answer slower than this counts as a hang."""
UNAVAILABLE = "tag:btc-price-services,2026:store-unavailable"
"""The problem type of api-a's answer while its price store does not answer."""
SAMPLES_KEY = "btc_usd:samples:v2"


def run(context: Context) -> Row:
    row = Row("redis-faults", injected=f"SIGKILL + restart, SIGSTOP/SIGCONT ({OUTAGE:g} s each), restart with AOF")
    pod = ServiceAPod(
        context.binaries,
        context.workdir,
        PRICES,
        poll_interval="1s",
        api_env={"STALE_AFTER": "30s", "AVERAGE_WINDOW": "10m"},
    )
    with pod.start():
        eventually(lambda: average(pod)["samples"] >= 3, 10, "three samples in the window")
        memory = Memory([pod.api, pod.poller])
        recoveries = []
        with Prober(pod.api.url("/service1/current"), every=0.05, timeout=5.0) as prober:
            for name, break_redis, mend_redis in (
                ("SIGKILL", pod.redis.kill, pod.redis.start),
                ("SIGSTOP", pod.redis.pause, pod.redis.resume),
            ):
                recoveries.append(outage(pod, prober, row, name, break_redis, mend_redis))
            answers = prober.stop()
        recoveries.append(restart_keeps_the_window(pod, row))
        row.requests = len(answers)
        row.failures = sum(1 for a in answers if not acceptable(a))
        row.expect(row.failures == 0, f"{row.failures} answers were neither 200 nor the documented 503, or hung")
        row.recovery = ", ".join(recoveries)
        memory.measure_after()
        row.memory = memory.text()
    return row


def outage(pod: ServiceAPod, prober: Prober, row: Row, name: str, break_redis, mend_redis) -> str:
    """One outage of `OUTAGE` seconds; returns the time api-a took to answer 200 again."""
    poller_metrics = pod.poller.url("/metrics")
    poller_lines = len(pod.poller.process.log_lines())
    api_lines = len(pod.api.process.log_lines())
    stored_before = prometheus.total(poller_metrics, "poller_ticks_total", result="stored")
    broken_at = time.monotonic()
    break_redis()
    eventually(lambda: time.monotonic() - broken_at >= OUTAGE, OUTAGE + 1, "the outage lasts")
    during = prober.between(broken_at)
    first_503 = next((a for a in during if a.status == 503), None)
    if row.expect(first_503 is not None, f"{name}: api-a never answered 503"):
        delay = first_503.at + first_503.elapsed - broken_at
        row.expect(delay <= FIRST_503_WITHIN, f"{name}: first 503 {delay:.2f} s after the fault (limit {FIRST_503_WITHIN:g} s)")
        row.expect(first_503.header("retry-after") is not None, f"{name}: the 503 has no Retry-After")
    stored_during = prometheus.total(poller_metrics, "poller_ticks_total", result="stored") - stored_before
    row.expect(stored_during >= OUTAGE - 1, f"{name}: the poller stored {stored_during:g} prices in {OUTAGE:g} s of outage")
    row.expect(httpclient.status_of(pod.poller.url("/healthz")) == 200, f"{name}: the poller is not live during the outage")
    pending = prometheus.total(poller_metrics, "poller_pending_samples")
    row.expect(pending >= 1, f"{name}: the poller holds no sample back during the outage")

    mended_at_wall = time.time()
    mend_redis()
    mended_at = time.monotonic()
    try:
        eventually(lambda: serves(pod), BACK_WITHIN + 3, f"{name}: api-a serves again")
        back = time.monotonic() - mended_at
    except AssertionError as err:
        row.problems.append(str(err))
        return f"{name} never"
    row.expect(back <= BACK_WITHIN, f"{name}: api-a answered 200 {back:.2f} s after Redis returned (limit {BACK_WITHIN:g} s)")
    held_back_written(pod, row, name, broken_at, mended_at_wall)

    poller_said = [line.get("message", "") for line in pod.poller.process.log_lines()[poller_lines:]]
    outage_lines = [m for m in poller_said if "cannot write to Redis" in m]
    row.expect(len(outage_lines) == 1, f"{name}: the poller logged the outage {len(outage_lines)} times, not once")
    row.expect(any("Redis is back" in m for m in poller_said), f"{name}: the poller never logged that Redis is back")
    api_said = [line.get("message", "") for line in pod.api.process.log_lines()[api_lines:]]
    api_outage_lines = [m for m in api_said if "price store unavailable" in m]
    row.expect(len(api_outage_lines) == 1, f"{name}: api-a logged the outage {len(api_outage_lines)} times, not once")
    return f"{name} {seconds(back)}"


def held_back_written(pod: ServiceAPod, row: Row, name: str, broken_at: float, mended_at_wall: float) -> None:
    """The samples fetched during the outage reach Redis once it is back."""
    outage_start_ms = int((mended_at_wall - (time.monotonic() - broken_at)) * 1000)

    def written() -> int:
        members = pod.redis.command("ZRANGEBYSCORE", SAMPLES_KEY, str(outage_start_ms), str(int(mended_at_wall * 1000)))
        return len(members) >= OUTAGE - 1 and len(members)

    metrics = pod.poller.url("/metrics")
    try:
        eventually(written, 3, f"{name}: the samples of the outage written to Redis")
        eventually(lambda: prometheus.total(metrics, "poller_pending_samples") == 0, 3, f"{name}: none left pending")
    except AssertionError as err:
        row.problems.append(str(err))


def restart_keeps_the_window(pod: ServiceAPod, row: Row) -> str:
    """With the exchange silent (nothing new stored), the append-only file synced, Redis
    killed and restarted: the same samples, the same average."""
    for provider in PRICES:
        pod.exchange.inject(provider, REFUSED)
    metrics = pod.poller.url("/metrics")
    idle = prometheus.total(metrics, "poller_ticks_total", result="no_valid_answer")
    # Two ticks with nothing stored: the last write is more than a second old, so the
    # append-only file (fsynced every second) has it.
    eventually(
        lambda: prometheus.total(metrics, "poller_ticks_total", result="no_valid_answer") >= idle + 2, 5, "two idle ticks"
    )
    before = average(pod)
    count_before = pod.redis.command("ZCARD", SAMPLES_KEY)
    pod.redis.kill()
    pod.redis.start()
    restarted, restarted_wall = time.monotonic(), time.time()
    api_metrics = pod.api.url("/metrics")
    try:
        # Not api-a's snapshot from before the restart: one it read from the restarted Redis.
        eventually(
            lambda: prometheus.total(api_metrics, "price_snapshot_last_success_timestamp_seconds") > restarted_wall,
            BACK_WITHIN + 3,
            "api-a reads the restarted Redis",
        )
        after = eventually(lambda: average(pod), BACK_WITHIN, "api-a averages again after the restart")
    except AssertionError as err:
        row.problems.append(str(err))
        return "AOF restart never"
    took = time.monotonic() - restarted
    count_after = pod.redis.command("ZCARD", SAMPLES_KEY)
    row.expect(count_after == count_before, f"restart with AOF: {count_before} samples before, {count_after} after")
    row.expect(
        after == before,
        f"restart with AOF: /average changed from {json.dumps(before)} to {json.dumps(after)}",
    )
    for provider in PRICES:
        pod.exchange.answer_ok(provider)
    return f"AOF restart {seconds(took)}"


def average(pod: ServiceAPod) -> dict:
    response = httpclient.get(pod.api.url("/service1/average"), timeout=2)
    return response.json() if response.status == 200 else {}


def serves(pod: ServiceAPod) -> bool:
    return all(
        httpclient.status_of(pod.api.url(path)) == 200 for path in ("/service1/current", "/service1/average", "/readyz")
    )


def acceptable(answer: Answer) -> bool:
    """200, or the documented 503 for an unavailable store, and never a hang."""
    if answer.status is None or answer.elapsed > HANG:
        return False
    if answer.status == 200:
        return True
    try:
        return answer.status == 503 and json.loads(answer.body).get("type") == UNAVAILABLE
    except ValueError:
        return False

