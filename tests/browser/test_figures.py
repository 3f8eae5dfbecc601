"""What the page shows when all is well: the upstream's price and the average to the cent, and a
chart with one dot per sample of the window and the average's line where the average is.

The page and the JSON routes are compared only when they describe the same newest sample (a
tick may land between two reads); `consistent` retries until they do.
"""

from __future__ import annotations

import unittest
from typing import Callable

from harness.waiting import eventually

from .case import BrowserCase
from .reading import Scale, Shown, clock, usd
from .service import POLL_INTERVAL

ALL_POINTS = 5000
"""`/history`'s largest `max_points`: every sample of a short run."""
MAX_DOTS = 120
"""The chart draws a dot per sample up to this many (beyond, only the line)."""


def consistent(service, read: Callable[[], Shown], api: str = "main") -> tuple[Shown, dict, dict, dict]:
    """The page as `read` returns it, with `/current`, `/average` and `/history` of the same
    newest sample."""

    def attempt():
        shown = read()
        current = service.route("current", api).json()
        average = service.route("average", api).json()
        history = service.route(f"history?max_points={ALL_POINTS}", api).json()
        newest = {shown.asOf, shown.to, current["as_of"], average["to"], history["points"][-1]["t"]}
        return len(newest) == 1 and (shown, current, average, history)

    return eventually(attempt, 10 * POLL_INTERVAL, "the page and the routes describe the same newest sample")


def agreement_text(current: dict) -> str:
    """How many exchanges agree on `/current`'s price, as the page says it (src/page/messages.rs)."""
    providers = current["providers"]
    if providers["agreeing"] == 1:
        text = f"1 of {providers['configured']} exchanges answered"
    else:
        text = (
            f"{providers['agreeing']} of {providers['configured']} exchanges agree within "
            f"{current['spread_percent']:g} %"
        )
    others = providers["answered"] - providers["agreeing"]
    return text + (f" ({others} more answered, further off)" if others else "")


def check_figures(test: unittest.TestCase, shown: Shown, current: dict, average: dict, upstream: float) -> None:
    """The price is the upstream's and `/current`'s, the average `/average`'s, both to the cent
    and written for people; the details match."""
    test.assertAlmostEqual(current["price"], upstream, delta=0.005, msg="the poller stored the upstream's price")
    test.assertAlmostEqual(float(shown.price), upstream, delta=0.005)
    test.assertEqual(shown.priceText, usd(current["price"]))
    test.assertAlmostEqual(float(shown.average), average["average"], delta=0.005)
    test.assertEqual(shown.averageText, usd(average["average"]))
    test.assertEqual(int(shown.samples), average["samples"])
    test.assertEqual(shown.sources, ", ".join(current["sources"]))
    test.assertEqual(shown.agreement, agreement_text(current))
    test.assertEqual(shown.continuity is None, current["basis"] == "quorum")
    test.assertEqual(shown.coverage, f"They cover {round(average['coverage'] * 100, 1):g} % of the window.")
    test.assertFalse(shown.currentDetailsHidden or shown.averageDetailsHidden)
    test.assertFalse(shown.staleBadge)
    test.assertIsNone(shown.notice(), "nothing to report")


def check_chart(test: unittest.TestCase, shown: Shown, history: dict, average: dict) -> None:
    """One dot per sample, each where its time and price put it; the line through them; the
    dashed average line across the drawing area at the average's height, which is also the
    mean height of the dots (the average is the samples' mean, and height is linear in price)."""
    points = history["points"]
    test.assertEqual(history["samples"], len(points), "every sample of the window is charted")
    test.assertLessEqual(len(points), MAX_DOTS, "few enough samples for one dot each")
    test.assertEqual(len(shown.dots), history["samples"], "one dot per sample in the window")
    scale = Scale(shown.geometry, points, average["average"])
    expected = [(scale.x(p["t"]), scale.y(p["price"])) for p in points]
    for (x, y), (want_x, want_y) in zip(shown.dots, expected):
        test.assertAlmostEqual(x, want_x, delta=0.11)
        test.assertAlmostEqual(y, want_y, delta=0.11)
        test.assertTrue(scale.inside(x, y), f"dot ({x}, {y}) outside the drawing area")
    test.assertEqual(shown.line_points(), [tuple(dot) for dot in shown.dots], "the line joins the dots")
    line = shown.averageLine
    test.assertFalse(line["hidden"])
    test.assertNotEqual(line["dashed"], "none", "the average line is dashed")
    average_y = scale.y(average["average"])
    test.assertAlmostEqual(float(line["y1"]), average_y, delta=0.11)
    test.assertEqual(line["y1"], line["y2"], "the average line is level")
    g = scale.g
    test.assertEqual((float(line["x1"]), float(line["x2"])), (g.left, g.width - g.right))
    mean_y = sum(y for _, y in shown.dots) / len(shown.dots)
    test.assertAlmostEqual(mean_y, float(line["y1"]), delta=0.15, msg="the average sits at the dots' mean height")
    prices = [p["price"] for p in points]
    test.assertIn(f"{len(points)} samples between {usd(min(prices))} and {usd(max(prices))}", shown.summary)
    test.assertIn(f"the average, {usd(average['average'])}", shown.summary)


class Figures(BrowserCase):
    def test_the_page_shows_the_upstream_price_and_the_average_to_the_cent(self):
        page = self.open(self.service.page_url())
        shown, current, average, _ = consistent(self.service, lambda: self.shown(page))
        check_figures(self, shown, current, average, self.service.price)
        self.assertEqual(shown.asOf, current["as_of"])
        self.assertIn(clock(current["as_of"]), page.page.text_content("#as-of"))
        self.screenshot(page, "desktop")
        self.assertClean(page)

    def test_the_script_keeps_the_figures_of_the_newest_sample(self):
        page = self.open(self.service.page_url())
        eventually(lambda: self.shown(page).refreshed.startswith("Refreshed at"), 3 * POLL_INTERVAL, "a refresh")
        shown, current, average, _ = consistent(self.service, lambda: self.shown(page))
        check_figures(self, shown, current, average, self.service.price)
        self.assertClean(page)

    def test_the_chart_has_one_dot_per_sample_and_the_average_line_at_the_average(self):
        page = self.open(self.service.page_url())
        eventually(lambda: self.shown(page).refreshed.startswith("Refreshed at"), 3 * POLL_INTERVAL, "a refresh")
        shown, _, average, history = consistent(self.service, lambda: self.shown(page))
        check_chart(self, shown, history, average)
        self.assertGreaterEqual(len(shown.dots), 10, "the warm-up's samples at least")
        self.assertClean(page)

    def test_the_dark_scheme_keeps_every_figure(self):
        page = self.open(self.service.page_url(), color_scheme="dark")
        shown, current, average, _ = consistent(self.service, lambda: self.shown(page))
        check_figures(self, shown, current, average, self.service.price)
        background = page.page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        self.assertEqual(background, "rgb(20, 22, 26)", "the dark scheme's background")
        self.screenshot(page, "dark")
        self.assertClean(page)
