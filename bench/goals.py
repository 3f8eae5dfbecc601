"""The benchmark's goals, one line each, judged against one run's figures.

They are printed, never enforced: a shared machine is too noisy for a threshold to fail a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .figures import Figures
from .footprint import IMAGES
from .targets import GATEWAY_YARDSTICK, TARGETS, WINDOWS, YARDSTICK, pinned_targets, window_label

KIB_PER_MIB = 1024
IMAGE_LIMIT_BYTES = 20_000_000
"""20 MB, as the stack suite counts it."""
LONGEST = WINDOWS[-1]
BINARIES = ("api-a", "api-b", "poller")


@dataclass(frozen=True)
class Goal:
    text: str
    figure: Callable[[Figures], float | None]
    limit: float
    at_most: bool
    """True: the figure must not exceed the limit; False: it must reach it."""
    unit: str

    def judge(self, figures: Figures) -> "Verdict":
        figure = self.figure(figures)
        if figure is None:
            return Verdict(self, None, None)
        met = figure <= self.limit if self.at_most else figure >= self.limit
        return Verdict(self, figure, met)


@dataclass(frozen=True)
class Verdict:
    goal: Goal
    figure: float | None
    met: bool | None
    """None: not measured in this run."""

    @property
    def word(self) -> str:
        return {True: "met", False: "MISSED", None: "not measured"}[self.met]

    def cells(self) -> tuple[str, str, str, str]:
        sign = "≤" if self.goal.at_most else "≥"
        figure = "-" if self.figure is None else f"{self.figure:.{precision(self.goal.unit)}f}{self.goal.unit}"
        limit = f"{sign} {self.goal.limit:g}{self.goal.unit}"
        return self.goal.text, figure, limit, self.word


def precision(unit: str) -> int:
    return 2 if unit in ("×", " ms", " %") else 1


def mib(kib: int | None) -> float | None:
    return None if kib is None else kib / KIB_PER_MIB


def window_idle(key: str, field: str) -> Callable[[Figures], float | None]:
    def figure(figures: Figures) -> float | None:
        idle = figures.windows.get(key)
        return None if idle is None else getattr(idle, field)

    return figure


def image_bytes(service: str) -> Callable[[Figures], float | None]:
    def figure(figures: Figures) -> float | None:
        if isinstance(figures.images, str):
            return None
        sizes = [image.bytes / 1e6 for image in figures.images if image.service == service and image.reference]
        return sizes[0] if sizes else None

    return figure


def window_api_rss(figures: Figures) -> float | None:
    """api-a's larger resident memory holding the longest window: at rest or after the load."""
    idle = figures.windows.get(LONGEST.key)
    values = [idle.api_rss_kib] if idle else []
    loaded = figures.window_rss_loaded_kib.get(LONGEST.key)
    if loaded:
        values.append(loaded)
    return mib(max(values)) if values else None


def goals() -> list[Goal]:
    direct = [t.label for t in TARGETS if t.versus == YARDSTICK]
    proxied = [t.label for t in TARGETS if t.versus == GATEWAY_YARDSTICK]
    idle_target = next(t.label for t in TARGETS if t.idle_connections)
    day = LONGEST.label
    history = next(t.label for t in TARGETS if t.path.endswith("/history"))
    # CPU per request on one pinned worker against nginx's: what decides how many pods a load needs
    cpu_limits = {"api-b /": 1.0, "api-a /current": 1.2, "api-a /average": 1.2, history: 3.0,
                  window_label_of(history): 4.0}  # fmt: skip
    # fmt: off
    return [
        *(Goal(f"CPU per request, {label}, pinned, vs {YARDSTICK}", lambda f, l=label: f.cpu_ratio(l), limit, True, "×")
          for label, limit in cpu_limits.items()),
        *(Goal(f"p99 {t.label}, pinned", lambda f, l=t.label: f.pinned_p99_ms(l), 3, True, " ms")
          for t in pinned_targets() if t.versus is not None),
        # with a day of samples at 1 s, an idle pod costs what ten minutes do
        Goal(f"api-a idle CPU, {day}", window_idle(LONGEST.key, "api_cpu_percent"), 2, True, " %"),
        Goal(f"Redis idle CPU, {day}", window_idle(LONGEST.key, "redis_cpu_percent"), 2, True, " %"),
        Goal(f"api-a RSS, {day} (idle and after load)", window_api_rss, 24, True, " MiB"),
        *(Goal(f"{route} @ {LONGEST.key} vs the 10 m window", lambda f, r=route: f.ratio(window_label_of(r)), 0.95, False, "×")
          for route in ("api-a /current", "api-a /average")),
        # throughput against nginx answering the same body
        *(Goal(f"{label} vs {YARDSTICK}", lambda f, l=label: f.ratio(l), 0.95, False, "×")
          for label in ("api-a /current", "api-a /average", "api-b /")),
        *(Goal(f"{label} vs {GATEWAY_YARDSTICK}", lambda f, l=label: f.ratio(l), 0.9, False, "×") for label in proxied),
        *(Goal(f"p99 {label}", lambda f, l=label: f.p99_ms(l), 3, True, " ms") for label in direct),
        Goal(f"p99 {idle_target}", lambda f: f.p99_ms(idle_target), 5, True, " ms"),
        *(Goal(f"RSS idle {name}", lambda f, n=name: mib(f.rss_idle_kib.get(n)), 10, True, " MiB") for name in BINARIES),
        *(Goal(f"RSS after load {name}", lambda f, n=name: mib(f.rss_loaded_kib.get(n)), 32, True, " MiB")
          for name in BINARIES),
        Goal("RSS api-a with the idle connections", lambda f: mib(f.idle_connections_rss_peak_kib()), 64, True, " MiB"),
        *(Goal(f"exec to ready {name}", lambda f, n=name: f.ready_median_ms(n), 50, True, " ms") for name in BINARIES),
        *(Goal(f"image {name}", image_bytes(name), IMAGE_LIMIT_BYTES / 1e6, True, " MB") for name in IMAGES),
    ]
    # fmt: on


def window_label_of(label: str) -> str:
    return window_label(next(t for t in TARGETS if t.label == label), LONGEST)


def judge(figures: Figures) -> list[Verdict]:
    return [goal.judge(figures) for goal in goals()]
