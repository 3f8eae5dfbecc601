"""What the upstream-chaos drill checks in what it recorded: the prices users were served, the
times the poller asked the providers, and how soon prices were fresh again."""

from __future__ import annotations

import json
import statistics

from harness.exchange import Request
from harness.probe import Answer


def served_price_problems(answers: list[Answer], sane: dict[str, float]) -> list[str]:
    """Each `/current` answer must be 200 with the median of the sane prices of its sources,
    to the cent: a price no sane provider said (or that a faulty one moved) shows up here."""
    problems = []
    for answer in answers:
        if answer.status != 200:
            problems.append(f"/current answered {answer.status}: {answer.body[:100]!r}")
            continue
        current = json.loads(answer.body)
        sources = current.get("sources") or []
        if not sources or any(source not in sane for source in sources):
            problems.append(f"/current has sources {sources}")
            continue
        expected = statistics.median(sane[source] for source in sources)
        if abs(current["price"] - round(expected, 2)) > 0.005:
            problems.append(f"/current served {current['price']} from {sources}; their sane median is {expected:.2f}")
    return problems


def grid_problems(times: list[float], interval: float, tolerance: float) -> list[str]:
    """Requests of a tick arrive together at a fixed grid that never drifts: every request's
    distance to the grid (anchored at the first one) must stay within `tolerance`."""
    if not times:
        return ["no request at all"]
    anchor = min(times)
    worst = max(abs(((t - anchor + interval / 2) % interval) - interval / 2) for t in times)
    if worst > tolerance:
        return [f"requests drifted {worst * 1000:.0f} ms off the {interval:g} s tick grid (limit {tolerance * 1000:.0f} ms)"]
    return []


def tick_gap_problems(times: list[float], interval: float, start: float, end: float) -> list[str]:
    """No tick skipped between `start` and `end` (monotonic): some provider is asked every
    interval, however slow the others are."""
    ticks = sorted(t for t in times if start <= t <= end)
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    worst = max(gaps, default=0.0)
    if worst > 1.5 * interval:
        return [f"no provider was asked for {worst:.2f} s (interval {interval:g} s): ticks were skipped or delayed"]
    return []


def cadence_problems(provider: str, requests: list[Request], interval: float) -> list[str]:
    """Never more than one request per tick (two of one tick are less than half an interval
    apart, see `grid_problems`), and never before a `Retry-After` ran out."""
    problems = []
    for before, after in zip(requests, requests[1:]):
        if after.at - before.at < 0.5 * interval:
            problems.append(f"{provider} asked twice within {after.at - before.at:.2f} s")
        if before.retry_until is not None and after.wall < before.retry_until - 0.05:
            problems.append(
                f"{provider} asked {before.retry_until - after.wall:.2f} s before its Retry-After ran out"
            )
    return problems
