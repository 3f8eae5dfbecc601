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
from .test_figures import agreement_text

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
        refused = PROVIDERS[-1]
        self.service.exchange.inject(refused, REFUSED)

        def explanation(current: dict) -> str:
            confirmed = current["confirmed"]
            return (
                f"Fewer than the 3 needed to confirm a price: shown because it is within "
                f"{abs(confirmed['change_percent']):g} % of ${confirmed['price']:,.2f}, confirmed at {clock(confirmed['at'])}."
            )

        def explained() -> tuple[Shown, str] | None:
            # The page and /current read at one moment: a tick between them may move the
            # confirmation, so the two are compared until they are of the same tick.
            shown, current = self.shown(page), self.service.route("current").json()
            continuity = current["basis"] == "continuity" and refused not in current["sources"]
            said = continuity and shown.agreement == agreement_text(current) and explanation(current)
            return said and shown.continuity == said and (shown, said)

        try:
            shown, _ = eventually(explained, refresh + 4 * SOON, "the open page explains the price as /current says")
        except AssertionError:
            current = self.service.route("current").json()
            self.assertEqual(self.shown(page).continuity, explanation(current) if "confirmed" in current else None)
            raise
        rendered = self.shown(self.open(self.service.page_url(), javascript=False))
        self.assertEqual(rendered.continuity, shown.continuity, "the server says it in the same words")
        self.screenshot(page, "continuity")
        self.assertClean(page)

        self.service.exchange.answer_ok(refused)
        back = eventually(lambda: (s := self.shown(page)).continuity is None and s, refresh + 60.0, "a quorum again")
        self.assertTrue(back.agreement.startswith(f"{len(PROVIDERS)} of {len(PROVIDERS)} exchanges agree"))
