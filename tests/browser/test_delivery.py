"""How the page is delivered: its strict Content-Security-Policy, which nothing in the page
breaks; what its first load weighs; a phone's width; accessibility in both schemes."""

from __future__ import annotations

from harness.waiting import eventually

from .case import BrowserCase
from .chromium import Loaded, WatchedPage
from .service import POLL_INTERVAL
from .test_refresh import fetches

BUDGET = 30 * 1024
"""The page with everything it loads, in bytes over the wire."""
ASSETS = ("page.css", "page.js", "icon.svg")


class Delivery(BrowserCase):
    def test_the_policy_is_strict_and_nothing_in_the_page_breaks_it(self):
        for api in ("main", "gateway"):
            with self.subTest(api=api):
                page = self.open(self.service.page_url(api))
                policy = [d.strip() for d in page.document.headers["content-security-policy"].split(";")]
                self.assertIn("default-src 'none'", policy)
                self.assertIn("script-src 'self'", policy)
                self.assertIn("style-src 'self'", policy)
                self.assertIn("connect-src 'self'", policy)
                self.assertNotIn("unsafe", " ".join(policy), "nothing inline, nothing evaluated")
                self.assertEqual(page.document.headers["x-content-type-options"], "nosniff")
                self.assertEqual(page.document.headers["referrer-policy"], "no-referrer")
                # Scripts, styles, the icon and two refreshes, all under the policy.
                eventually(lambda: len(fetches(page)) >= 6, 5 * POLL_INTERVAL, "two refreshes")
                self.assertEqual(page.csp_violations(), [])
                self.assertClean(page)

    def test_the_page_and_everything_it_loads_weigh_at_most_30_kb(self):
        for api in ("main", "gateway"):
            with self.subTest(api=api):
                page = self.open(self.service.page_url(api))
                first_load = [
                    *page.responses("document"),
                    *page.responses("stylesheet"),
                    *page.responses("script"),
                    self.icon(page),
                ]
                names = [loaded.url.rsplit("/", 1)[1].split("?")[0] for loaded in first_load]
                self.assertEqual(names, ["", *ASSETS], "the page, its stylesheet, script and icon")
                self.assertTrue(all(loaded.status == 200 for loaded in first_load))
                sizes = [loaded.bytes() for loaded in first_load]
                total = sum(sizes)
                detail = ", ".join(f"{name or 'page'} {size}" for name, size in zip(names, sizes))
                self.world.figures[f"first load ({api})"] = f"{total} bytes ({total / 1024:.1f} KiB: {detail})"
                self.assertLessEqual(total, BUDGET)
                eventually(lambda: len(fetches(page)) >= 3, 3 * POLL_INTERVAL, "a refresh")
                refresh = sum(loaded.bytes() for loaded in page.responses("fetch")[:3])
                self.world.figures[f"one refresh ({api})"] = f"{refresh} bytes"

    def icon(self, page: WatchedPage) -> Loaded:
        """The page's icon as a browser loads it the first time. Headless Chromium asks for a
        page's icon only now and then (and then keeps it in its cache), a browser on a desktop
        always does: it is loaded on its own, in a new context."""
        href = page.page.evaluate("() => document.querySelector('link[rel=icon]').href")
        tab = self.open(href)
        loaded = tab.responses("document")
        self.assertEqual(loaded[0].url, href)
        return loaded[0]

    def test_nothing_overflows_a_phone_screen(self):
        phone = self.assertFitsPhone(self.service.page_url(), "phone")
        self.assertEqual(phone.page.evaluate("() => window.innerWidth"), 360)

    def test_axe_finds_nothing_serious_in_either_scheme(self):
        page = self.open(self.service.page_url())
        self.assertAccessible(page, "prices")
        self.assertClean(page)

