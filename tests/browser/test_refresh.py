"""The page keeps up by itself: a new upstream price appears without a reload, directly, through
the gateway, and at the page's URL without its trailing slash (its routes are relative).

How soon: the poller's next tick (at most one poll interval), api-a's next read of Redis (every
250 ms), then the page's next refresh (its period is the samples' spacing, one poll interval).
So the bound is two poll intervals plus that read, plus the requests themselves on a busy
machine; the measured figure is printed.
"""

from __future__ import annotations

import time

from harness.waiting import eventually

from .case import BrowserCase
from .chromium import WatchedPage
from .reading import usd
from .service import POLL_INTERVAL

READ_PERIOD = 0.25
"""How often api-a reads Redis."""
SLACK = 0.5
"""The page's three requests and its update, on a shared machine."""
BOUND = 2 * POLL_INTERVAL + READ_PERIOD + SLACK


class Refresh(BrowserCase):
    def see_a_new_price_without_reload(self, page: WatchedPage, label: str) -> None:
        marker = page.mark()
        new_price = round(self.service.price + 321.09, 2)
        changed = time.monotonic()
        self.service.set_price(new_price)
        eventually(
            lambda: abs(float(page.page.get_attribute("#price", "value") or 0) - new_price) < 0.005,
            BOUND,
            f"{label}: the page shows {new_price}",
            every=0.02,
        )
        latency = time.monotonic() - changed
        self.world.figures[f"new price shown ({label})"] = f"{latency:.2f} s after the upstream changed"
        self.assertEqual(page.page.text_content("#price"), usd(new_price))
        self.assertEqual(page.marker(), marker, "the window's state survived: no reload")
        self.assertEqual(page.navigations, 1, "one navigation: the first load")
        self.assertEqual(page.document_loads(), 1, "one document loaded")
        self.assertEqual(page.page.evaluate("() => performance.getEntriesByType('navigation').length"), 1)
        self.assertClean(page)

    def test_the_page_refreshes_at_the_samples_spacing(self):
        page = self.open(self.service.page_url())
        refresh_ms = self.shown(page).refreshMs
        self.assertAlmostEqual(refresh_ms, POLL_INTERVAL * 1000, delta=100)
        self.assertEqual(page.page.text_content("#refreshed"), "Refreshes by itself every 1 s.")
        self.assertTrue(page.page.locator("#refreshed").is_visible())
        started = time.monotonic()
        eventually(lambda: len(fetches(page)) >= 9, 5 * POLL_INTERVAL, "three refreshes")
        self.assertLessEqual(time.monotonic() - started, 4 * POLL_INTERVAL)
        self.assertEqual(
            sorted({url.split("/service1/")[1] for url in fetches(page)}),
            ["average", "current", "history?max_points=240"],
            "each refresh reads the three routes, relative to the page",
        )

    def test_a_new_upstream_price_shows_within_two_poll_intervals_without_a_reload(self):
        self.see_a_new_price_without_reload(self.open(self.service.page_url()), "direct")

    def test_through_the_gateway_the_page_refreshes_too(self):
        page = self.open(self.service.page_url("gateway"))
        self.assertIn("script-src 'self'", page.document.headers["content-security-policy"])
        self.see_a_new_price_without_reload(page, "through the gateway")
        self.assertTrue(all(f"127.0.0.1:{self.service.gateway.port}/" in url for url in fetches(page)))

    def test_without_its_trailing_slash_the_page_reads_the_same_routes(self):
        page = self.open(self.service.page_url(slash=False))
        self.see_a_new_price_without_reload(page, "no trailing slash")
        self.assertTrue(fetches(page) and all("/service1/" in url for url in fetches(page)))


def fetches(page: WatchedPage) -> list[str]:
    """The URLs of the page's successful requests from its script."""
    return [loaded.url for loaded in page.responses("fetch") if loaded.status == 200]
