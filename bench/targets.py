"""What is measured under load: one line per target, and the windows api-a is run with.

A target names the server that answers it (see `stack.Stack.base_url`), the path wrk asks and
the target it is compared with (its yardstick: nginx answering the same body from its
configuration, directly or behind the same gateway). Adding a route is one line in `TARGETS`;
`windows=True` also measures it on every longer window of `WINDOWS`.
"""

from __future__ import annotations

from dataclasses import dataclass

YARDSTICK = "nginx static"
GATEWAY_YARDSTICK = "gateway → nginx static"


@dataclass(frozen=True)
class Target:
    label: str
    server: str
    path: str
    versus: str | None
    """The label of the target this one is compared with; None for a yardstick."""
    windows: bool = False
    """Also measured against api-a holding each longer window of `WINDOWS`."""
    idle_connections: bool = False
    """Measured while the idle keep-alive connections are held open against its server."""


# fmt: off
TARGETS = [
    # direct, each on its own port; the api-a targets hold the default window (10 m at 10 s)
    Target(YARDSTICK,                     "static",     "/service1/current", None),
    Target("api-b /",                     "api-b",      "/service2/",        YARDSTICK),
    Target("api-a /current",              "api-a",      "/service1/current", YARDSTICK, windows=True),
    Target("api-a /average",              "api-a",      "/service1/average", YARDSTICK, windows=True),
    Target("api-a /history",              "api-a",      "/service1/history", YARDSTICK, windows=True),
    # through the repository's gateway/nginx.conf
    Target(GATEWAY_YARDSTICK,             "gw-static",  "/service1/current", None),
    Target("gateway /service1/current",   "gateway",    "/service1/current", GATEWAY_YARDSTICK),
    Target("gateway /service2/",          "gateway",    "/service2/",        GATEWAY_YARDSTICK),
    # a second api-a (same Redis) holding the idle connections
    Target("api-a /current + idle conns", "api-a-idle", "/service1/current", "api-a /current", idle_connections=True),
]
# fmt: on


@dataclass(frozen=True)
class Window:
    """api-a's `AVERAGE_WINDOW` with samples every `interval`, as the poller would write them."""

    key: str
    label: str
    average_window: str
    interval: str
    samples: int

    @property
    def server(self) -> str:
        """The api-a holding this window; the first window's is the plain `api-a`."""
        return "api-a" if self is WINDOWS[0] else f"api-a {self.key}"


WINDOWS = [
    Window("10m", "10 m at 10 s", "10m", "10s", 60),
    Window("1h", "1 h at 1 s", "1h", "1s", 3_600),
    # 24 h at 2 s: a day at 1 s (23-29 MB since samples carry their evidence) does not fit the
    # compose file's 32mb Redis.
    Window("24h", "24 h at 2 s", "24h", "2s", 43_200),
]


# What the CPU table measures, each server on one worker pinned to one core (as a replica limited
# to one core runs in production), wrk on the other: the direct targets, /history on the longest
# window too. Their labels are the throughput table's; the yardstick is nginx on one worker.
PINNED_WINDOWS = [WINDOWS[0], WINDOWS[-1]]


def pinned_targets() -> list[Target]:
    direct = [target for target in TARGETS if target.versus in (None, YARDSTICK) and target.server in ("static", "api-b", "api-a")]
    longest = WINDOWS[-1]
    history = next(target for target in TARGETS if target.path.endswith("/history"))
    return [*direct, Target(window_label(history, longest), longest.server, history.path, YARDSTICK)]


def window_label(target: Target, window: Window) -> str:
    return f"{target.label} @ {window.key}"


def all_targets() -> list[Target]:
    """`TARGETS`, then each windowed target on every window but the first, compared with the
    same route on the first."""
    derived = [
        Target(window_label(target, window), window.server, target.path, target.label)
        for window in WINDOWS[1:]
        for target in TARGETS
        if target.windows
    ]
    return [*TARGETS, *derived]


def round_order(targets: list[Target], round_index: int) -> list[Target]:
    """The order of one round: the table's in even rounds, reversed in odd ones, so that no
    target always runs right after the same neighbour (caches, TIME_WAIT sockets, heat)."""
    return list(targets) if round_index % 2 == 0 else list(reversed(targets))
