"""What stands behind the price, as the page says it: with one of the three exchanges refusing,
the two left are fewer than the quorum, and the page explains why their price is still shown
(close to the price all three confirmed), in the same words whether the server or the page's
script wrote them; then all three answer again and the explanation goes."""

from __future__ import annotations

from harness.exchange import REFUSED
from harness.waiting import eventually

from .case import BrowserCase
from .reading import Shown, clock
from .service import POLL_INTERVAL, PROVIDERS

SOON = 3 * POLL_INTERVAL


class Evidence(BrowserCase):
    def test_a_price_fewer_exchanges_back_is_explained_by_the_script_as_by_the_server(self):
        page = self.open(self.service.page_url())
        self.addCleanup(self.service.recover)
        refresh = self.shown(page).refreshMs / 1000
        # Every exchange answering first (after an outage they come back one by one, as their
        # back-offs end).
        eventually(
            lambda: self.service.route("current").json()["providers"]["agreeing"] == len(PROVIDERS),
            60.0,
            "all three exchanges agree",
        )
        self.service.exchange.inject(PROVIDERS[-1], REFUSED)

        def explained() -> Shown | None:
            shown = self.shown(page)
            return shown.continuity is not None and shown

        shown = eventually(explained, refresh + 4 * SOON, "the open page explains the price")
        current = self.service.route("current").json()
        self.assertEqual(current["basis"], "continuity", current)
        self.assertEqual(shown.agreement, f"2 of {len(PROVIDERS)} exchanges agree within 0 %")
        confirmed = current["confirmed"]
        self.assertEqual(
            shown.continuity,
            f"Fewer than the 3 needed to confirm a price: shown because it is within "
            f"{abs(confirmed['change_percent']):g} % of ${confirmed['price']:,.2f}, confirmed at {clock(confirmed['at'])}.",
        )
        rendered = self.shown(self.open(self.service.page_url(), javascript=False))
        self.assertEqual((rendered.agreement, rendered.continuity), (shown.agreement, shown.continuity))
        self.screenshot(page, "continuity")
        self.assertClean(page)

        self.service.exchange.answer_ok(PROVIDERS[-1])
        back = eventually(
            lambda: (s := self.shown(page)).continuity is None and s, refresh + 4 * SOON, "a quorum again"
        )
        self.assertEqual(back.agreement, f"{len(PROVIDERS)} of {len(PROVIDERS)} exchanges agree within 0 %")
