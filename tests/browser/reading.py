"""What the page shows, read from its DOM as a browser holds it (after any script), and where
the chart must put a price and a time, computed here from the chart's geometry attributes and
the JSON routes' data rather than taken from the page's script.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from playwright.sync_api import Page

READ = """() => {
  const q = (selector) => document.querySelector(selector);
  const attributes = (node, names) => Object.fromEntries(names.map((n) => [n, node.getAttribute(n)]));
  const chart = q("#chart");
  const notice = q("#notice");
  return {
    price: q("#price").getAttribute("value"),
    priceText: q("#price").textContent,
    average: q("#average").getAttribute("value"),
    averageText: q("#average").textContent,
    samples: q("#samples").textContent,
    sources: q("#sources").textContent,
    agreement: q("#agreement").textContent,
    continuity: q("#continuity").hidden ? null : q("#continuity").textContent,
    coverage: q("#coverage").hidden ? null : q("#coverage").textContent,
    asOf: q("#as-of").getAttribute("datetime"),
    to: q("#to").getAttribute("datetime"),
    currentDetailsHidden: q("#current-details").hidden,
    averageDetailsHidden: q("#average-details").hidden,
    staleBadge: !q("#stale").hidden,
    noticeHidden: notice.hidden,
    noticeText: notice.textContent.trim(),
    noticeKind: notice.className.replace("notice", "").trim(),
    noticeRole: notice.getAttribute("role"),
    geometry: Object.fromEntries(["width", "height", "left", "right", "top", "bottom"]
      .map((k) => [k, Number(chart.dataset[k])])),
    dots: [...document.querySelectorAll("#dots circle")].map((c) => [Number(c.getAttribute("cx")), Number(c.getAttribute("cy"))]),
    line: q("#price-line").getAttribute("points") ?? "",
    averageLine: { hidden: q("#average-line").hasAttribute("hidden"),
      dashed: getComputedStyle(q("#average-line")).strokeDasharray,
      ...attributes(q("#average-line"), ["x1", "y1", "x2", "y2"]) },
    summary: q("#chart-summary").textContent,
    refreshMs: Number(q("#app").dataset.refreshMs),
    refreshed: q("#refreshed").textContent,
    messages: { ...q("#app").dataset },
  };
}"""


@dataclass(frozen=True)
class Geometry:
    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float


@dataclass
class Shown:
    """The page's state, as read by `READ`."""

    price: str
    priceText: str
    average: str
    averageText: str
    samples: str
    sources: str
    agreement: str
    """How many exchanges agree on the price, and how closely."""
    continuity: str | None
    """Why a price fewer than the quorum back is shown; None when a quorum backs it."""
    coverage: str | None
    """How much of the window the average's samples cover."""
    asOf: str
    """The newest sample's time (`/current`'s `as_of`)."""
    to: str
    """The newest sample the average counts (`/average`'s `to`)."""
    currentDetailsHidden: bool
    averageDetailsHidden: bool
    staleBadge: bool
    noticeHidden: bool
    noticeText: str
    noticeKind: str
    """`info`, `warning` or `error`: how the notice looks."""
    noticeRole: str
    geometry: dict
    dots: list
    line: str
    averageLine: dict
    summary: str
    refreshMs: float
    refreshed: str
    messages: dict

    def line_points(self) -> list[tuple[float, float]]:
        return [tuple(map(float, pair.split(","))) for pair in self.line.split()]

    def notice(self) -> str | None:
        """The notice's text, None when it is hidden."""
        return None if self.noticeHidden else self.noticeText

    def window(self) -> str:
        """The averaging window in words, e.g. `10 minutes`."""
        return self.messages["window"]

    def message(self, name: str, **fill: str) -> str:
        """The server's text for state `name` (from the page's `data-message-*`), filled in."""
        key = "message" + "".join(part.capitalize() for part in name.split("-"))
        text = self.messages[key]
        for placeholder, value in fill.items():
            text = text.replace("{" + placeholder + "}", value)
        return text


def read(page: Page) -> Shown:
    return Shown(**page.evaluate(READ))


def usd(amount: float) -> str:
    """`97123.456` as `$97,123.46`, as a person reads it."""
    return f"${amount:,.2f}"


def epoch_ms(rfc3339: str) -> int:
    return round(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


def clock(rfc3339: str) -> str:
    """The time of day of `rfc3339`, as the page writes it: `13:30:23 UTC`."""
    return f"{rfc3339[11:19]} UTC"


class Scale:
    """Where the chart puts a sample: time across the drawing area (oldest sample at its left
    edge, newest at its right), price down it, the range of the prices and the average padded
    by a fifth of itself (at least 0.005 % of the highest price, at least a cent) above and
    below. Positions are rounded to a tenth of the view box's unit."""

    def __init__(self, geometry: dict, points: list[dict], average: float):
        self.g = Geometry(**geometry)
        prices = [p["price"] for p in points] + [average]
        low, high = min(prices), max(prices)
        pad = max((high - low) * 0.2, abs(high) * 0.00005, 0.01)
        self.low, self.high = low - pad, high + pad
        times = [epoch_ms(p["t"]) for p in points]
        self.first, self.last = times[0], times[-1]

    def x(self, t: str) -> float:
        at = epoch_ms(t)
        share = (at - self.first) / (self.last - self.first) if self.last > self.first else 0.5
        return round(self.g.left + share * (self.g.width - self.g.left - self.g.right), 1)

    def y(self, price: float) -> float:
        share = (self.high - price) / (self.high - self.low)
        return round(self.g.top + share * (self.g.height - self.g.top - self.g.bottom), 1)

    def inside(self, x: float, y: float) -> bool:
        g = self.g
        return g.left <= x <= g.width - g.right and g.top <= y <= g.height - g.bottom
