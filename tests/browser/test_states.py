"""The page's honest states, each brought about for real: no price yet (Redis emptied while the
exchanges are down), stale (the exchanges down for longer than `STALE_AFTER`), the price store
unavailable (Redis killed), no price within the window (a short window emptied by the same
outage, before the price is stale), and, for the script, the service unreachable (api-a killed
behind the gateway, which answers 502).

Each state of the service is seen twice: arriving on a page already open, through its script (no reload), and
in a page the server renders in that state (without JavaScript: the server's work alone; then
with it on a phone). Each time the state's message is shown as a status, axe finds nothing
serious in either scheme, nothing overflows a phone and nothing breaks the policy; then the
state is undone and the open page comes back by itself.
"""

from __future__ import annotations

import re
import time

from harness.waiting import eventually

from .case import BrowserCase
from .chromium import PHONE, WatchedPage
from .reading import Shown, clock, epoch_ms
from .service import BRIEF_WINDOW, POLL_INTERVAL, STALE_AFTER

NO_PRICE = "—"
DEFAULT_REFRESH = 10.0
"""The refresh period of a page rendered with fewer than two samples to tell the spacing."""
STORE_SILENCE = 1.0
"""api-a says the store is unavailable when Redis has not answered for a second."""
AGEING = 3
"""Seconds of an outage after which the kept price must say it is that old."""
SOON = 3 * POLL_INTERVAL
"""A tick, a read of Redis and the requests, with room for a busy machine."""


class States(BrowserCase):
    def open_live(self, api: str = "main") -> tuple[WatchedPage, str, Shown]:
        """A page open before the state arrives, its marker, and what it showed."""
        page = self.open(self.service.page_url(api))
        self.addCleanup(self.service.recover)
        return page, page.mark(), self.shown(page)

    def arrives(self, page: WatchedPage, marker: str, message: str, after: float) -> Shown:
        """The open page shows `message` without a reload, once the state has come (`after`
        seconds) and the page's next refresh has followed."""
        within = after + self.shown(page).refreshMs / 1000 + SOON

        last: list[Shown] = []

        def shown_with_message() -> Shown | None:
            last[:] = [self.shown(page)]
            return says(last[0], message) and last[0]

        try:
            shown = eventually(shown_with_message, within, f"the open page says {message}")
        except AssertionError as err:
            raise AssertionError(f"{err}; it says {last[0].notice()!r}" if last else err) from None
        self.assertEqual((page.marker(), page.navigations), (marker, 1), "no reload")
        self.assertEqual(shown.noticeRole, "status")
        return shown

    def rendered(self, api: str, message: str, name: str, allowed: tuple[int, ...]) -> Shown:
        """The page the server renders now: without JavaScript it shows `message` (screenshot
        `name`); axe checks it with the page's script left out, so what axe sees is the
        server's work; on a phone with the script nothing overflows (`name-phone`)."""
        url = self.service.page_url(api)
        page = self.open(url, javascript=False)
        shown = self.shown(page)
        self.assertTrue(says(shown, message), f"the server renders the notice {shown.notice()!r}")
        self.assertEqual(shown.noticeRole, "status")
        self.screenshot(page, name)
        self.assertClean(page)
        without_script = self.open(url, page_script=False)
        self.assertTrue(without_script.page.locator("#refreshed").is_hidden(), "the page's script was left out")
        self.assertEqual(self.shown(without_script).notice(), shown.notice())
        self.assertAccessible(without_script, f"{name} (server)")
        self.assertClean(without_script, allowed)
        phone = self.assertFitsPhone(url, f"{name}-phone", allowed)
        self.assertEqual(self.shown(phone).notice(), shown.notice())
        return shown

    def comes_back(self, page: WatchedPage) -> None:
        """Once the state is undone, the open page shows the price again by itself, at its next
        refresh."""
        self.service.recover()
        within = self.shown(page).refreshMs / 1000 + SOON

        def back() -> bool:
            shown = self.shown(page)
            return shown.notice() is None and shown.price not in ("", None) and not shown.staleBadge

        eventually(back, within, "the page is back to the price")
        self.assertAlmostEqual(float(self.shown(page).price), self.service.price, delta=0.005)

    def assertNoFigures(self, shown: Shown, current: bool) -> None:
        """No average and no chart; no price either unless `current`."""
        if not current:
            self.assertEqual((shown.price, shown.priceText), ("", NO_PRICE))
            self.assertTrue(shown.currentDetailsHidden)
        self.assertEqual((shown.average, shown.averageText), ("", NO_PRICE))
        self.assertTrue(shown.averageDetailsHidden)
        self.assertEqual((shown.dots, shown.line), ([], ""), "an empty chart, not a broken one")
        self.assertTrue(shown.averageLine["hidden"])
        self.assertEqual(shown.summary, f"No price to chart within the last {shown.window()}.")

    def assertAgeing(self, page: WatchedPage) -> None:
        """The last price kept on the page grows older as the outage lasts: its age is never
        less than the time since its sample, as this machine's clock tells it."""

        def age_matches() -> bool:
            shown = self.shown(page)
            told = int(page.page.text_content("#age").split(" s ago")[0])
            return told >= AGEING and told >= int(time.time() - epoch_ms(shown.asOf) / 1000) - 1

        eventually(age_matches, AGEING + 2 * POLL_INTERVAL, f"the kept price's age reaches {AGEING} s")

    def assertLastPrice(self, shown: Shown) -> None:
        self.assertAlmostEqual(float(shown.price), self.service.price, delta=0.005)
        self.assertFalse(shown.currentDetailsHidden)

    def test_no_price_yet_is_said_and_nothing_is_drawn(self):
        page, marker, _ = self.open_live()
        self.service.empty_redis()
        shown = self.arrives(page, marker, "no-price", after=0)
        self.assertEqual(shown.noticeKind, "info")
        self.assertNoFigures(shown, current=False)
        self.screenshot(page, "no-price-refreshed")
        self.assertAccessible(page, "no-price (refreshed)")
        self.assertClean(page, allowed_statuses=(503,))

        rendered = self.rendered("main", "no-price", "no-price", allowed=(503,))
        self.assertNoFigures(rendered, current=False)
        self.assertEqual(rendered.refreshMs, DEFAULT_REFRESH * 1000, "no samples tell the spacing")
        first_load = self.open(self.service.page_url(), viewport=PHONE)

        self.comes_back(page)
        # A page opened before the first price comes alive too, at its slower default pace.
        self.assertEqual(self.shown(first_load).refreshMs, DEFAULT_REFRESH * 1000)
        self.comes_back(first_load)

    def test_stale_prices_are_flagged_since_their_time(self):
        page, marker, _ = self.open_live()
        self.service.upstream_outage()
        shown = self.arrives(page, marker, "stale", after=STALE_AFTER)
        self.assertEqual(shown.noticeKind, "warning")
        self.assertTrue(shown.staleBadge)
        self.assertLastPrice(shown)
        self.assertEqual(shown.asOf, self.service.route("current").json()["as_of"], "stale since the newest sample")
        self.assertNotEqual(shown.average, "", "the stale price is still in the window")
        self.screenshot(page, "stale-refreshed")
        self.assertAccessible(page, "stale (refreshed)")
        self.assertClean(page)

        rendered = self.rendered("main", "stale", "stale", allowed=())
        self.assertTrue(rendered.staleBadge)
        self.assertLastPrice(rendered)
        self.comes_back(page)

    def test_an_unavailable_store_is_said_and_the_last_values_stay(self):
        page, marker, before = self.open_live()
        self.service.kill_redis()
        shown = self.arrives(page, marker, "unavailable", after=STORE_SILENCE)
        self.assertEqual(shown.noticeKind, "error")
        self.assertEqual((shown.price, shown.average), (before.price, before.average), "the last values stay")
        self.assertEqual(len(shown.dots), len(before.dots))
        self.assertAgeing(page)
        self.screenshot(page, "unavailable-refreshed")
        self.assertAccessible(page, "unavailable (refreshed)")
        self.assertClean(page, allowed_statuses=(503,))

        rendered = self.rendered("main", "unavailable", "unavailable", allowed=(503,))
        self.assertNoFigures(rendered, current=False)
        self.comes_back(page)

    def test_an_empty_window_is_said_while_the_price_is_still_fresh(self):
        page, marker, _ = self.open_live("brief")
        self.service.upstream_outage()
        shown = self.arrives(page, marker, "empty-window", after=BRIEF_WINDOW)
        self.assertEqual(shown.noticeKind, "warning")
        self.assertEqual(shown.window(), f"{BRIEF_WINDOW} seconds")
        self.assertFalse(shown.staleBadge)
        self.assertLastPrice(shown)
        self.assertNoFigures(shown, current=True)
        self.screenshot(page, "empty-window-refreshed")
        self.assertAccessible(page, "empty-window (refreshed)")
        self.assertClean(page, allowed_statuses=(503,))

        rendered = self.rendered("brief", "empty-window", "empty-window", allowed=(503,))
        self.assertLastPrice(rendered)
        self.assertNoFigures(rendered, current=True)
        self.comes_back(page)

    def test_an_unreachable_service_is_said_and_the_last_values_stay(self):
        page, marker, before = self.open_live("gateway")
        self.service.stop_api()
        shown = self.arrives(page, marker, "unreachable", after=0)
        self.assertEqual(shown.noticeKind, "error")
        self.assertEqual((shown.price, shown.average), (before.price, before.average), "the last values stay")
        self.assertEqual(len(shown.dots), len(before.dots))
        self.assertAgeing(page)
        self.screenshot(page, "unreachable-refreshed")
        self.assertAccessible(page, "unreachable (refreshed)")
        self.assertClean(page, allowed_statuses=(502,))
        self.comes_back(page)


def says(shown: Shown, message: str) -> bool:
    """Whether the notice is the state's message, filled in: the window, and the time of the
    newest sample (stale) or of the failed refresh (unreachable)."""
    if shown.notice() is None:
        return False
    time = re.escape(clock(shown.asOf)) if message == "stale" else r"\d\d:\d\d:\d\d UTC"
    pattern = re.escape(shown.message(message, window=shown.window())).replace(re.escape("{time}"), time)
    return re.fullmatch(pattern, shown.notice()) is not None

