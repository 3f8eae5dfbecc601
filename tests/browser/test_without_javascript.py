"""The page without JavaScript: the server's rendering alone shows the price, the average and
the chart, and says nothing that only the script would make true."""

from __future__ import annotations

from .case import BrowserCase
from .reading import Shown
from .test_figures import check_chart, check_figures, consistent


class WithoutJavaScript(BrowserCase):
    def test_the_price_the_average_and_the_chart_are_there_without_javascript(self):
        page = self.open(self.service.page_url(), javascript=False)

        def reloaded() -> Shown:
            # The page never changes by itself here: a tick between it and the routes needs a
            # new copy.
            page.page.reload()
            return self.shown(page)

        shown, current, average, history = consistent(self.service, reloaded)
        check_figures(self, shown, current, average, self.service.price)
        check_chart(self, shown, history, average)
        for shown_to_people in ("#price", "#average", "#samples", "#sources", "#chart", "#dots circle >> nth=-1"):
            self.assertTrue(page.page.locator(shown_to_people).is_visible(), f"{shown_to_people} is visible")
        self.assertTrue(page.page.locator("#refreshed").is_hidden(), "it does not claim to refresh by itself")
        self.screenshot(page, "no-script")
        self.assertClean(page)
