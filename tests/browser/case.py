"""The base of every browser test: the service and the browser shared by the whole run (set by
`conftest`), pages that are closed after each test, screenshots, and the checks every state
shares (axe in both schemes, no horizontal overflow on a phone)."""

from __future__ import annotations

import unittest
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser

from . import axe
from .chromium import PHONE, WatchedPage
from .reading import Shown, read
from .service import ServiceA


@dataclass
class World:
    service: ServiceA
    browser: Browser
    artefacts: Path
    """Where screenshots go (CI keeps the folder)."""
    figures: dict[str, str] = field(default_factory=dict)
    """Measurements printed at the end of the run."""


class BrowserCase(unittest.TestCase):
    world: World

    @property
    def service(self) -> ServiceA:
        return self.world.service

    def open(self, url: str, **options) -> WatchedPage:
        """A watched page at `url` (see `WatchedPage` for `options`), closed after the test."""
        page = WatchedPage(self.world.browser, url, **options)
        self.addCleanup(page.close)
        return page

    def screenshot(self, page: WatchedPage, name: str) -> Path:
        path = self.world.artefacts / f"{name}.png"
        page.screenshot(path)
        return path

    def assertClean(self, page: WatchedPage, allowed_statuses: tuple[int, ...] = ()) -> None:
        """No script error, console error or CSP violation, and no error status but those the
        state answers honestly."""
        self.assertEqual(page.problems(allowed_statuses), [])

    def assertAccessible(self, page: WatchedPage, state: str) -> None:
        """axe finds nothing serious or critical in the light scheme and in the dark one (the
        page is switched back to light afterwards)."""
        self.assertTrue(page.javascript, "axe runs in the page: it needs JavaScript")
        for scheme in ("light", "dark"):
            page.page.emulate_media(color_scheme=scheme)
            violations = axe.run(page.page)
            self.world.figures.setdefault("axe-core", axe.version(page.page))
            self.world.figures[f"axe {state} ({scheme})"] = (
                f"{len(violations)} violation(s)" + "".join(f"; {v}" for v in violations) if violations else "none"
            )
            self.assertEqual(axe.blocking(violations), [], f"{state}, {scheme} scheme")
        page.page.emulate_media(color_scheme="light")

    def assertFitsPhone(self, url: str, name: str, allowed_statuses: tuple[int, ...] = ()) -> WatchedPage:
        """At 360x740 nothing is wider than the screen; the phone's screenshot is kept as
        `name`."""
        phone = self.open(url, viewport=PHONE)
        scroll_width, inner_width = phone.overflow()
        self.assertLessEqual(scroll_width, inner_width, f"{name}: the page scrolls sideways on a phone")
        self.screenshot(phone, name)
        self.assertClean(phone, allowed_statuses)
        return phone

    def shown(self, page: WatchedPage) -> Shown:
        return read(page.page)

