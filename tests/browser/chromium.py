"""Pages in Chromium (the shared fixture `chromium`: Debian's, driven by Playwright) watched from
their first byte: script errors, console errors, Content-Security-Policy violations,
navigations of the main frame, and the bytes of every response.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, Response

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}

# Runs before the page's own script in every document, out of the page's CSP's reach (Playwright
# adds it through the DevTools protocol): each violation of the policy is kept on `window`.
VIOLATION_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`);
});
"""

PAGE_SCRIPT = "**/assets/page.js?*"

# What Chromium logs for an answer with an error status: the page's own requests get honest
# 503s in some states, which is not a script error.
FAILED_STATUS = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")


@dataclass
class Loaded:
    """One response the page received."""

    url: str
    status: int
    resource_type: str
    response: Response

    def bytes(self) -> int:
        """Its headers and body as they came over the wire (once it is complete; while the page
        is open)."""
        self.response.finished()
        sizes = self.response.request.sizes()
        assert sizes["responseHeadersSize"] > 0, f"{self.url} came from a cache: {sizes}"
        return sizes["responseHeadersSize"] + sizes["responseBodySize"]


class WatchedPage:
    """A page opened at `url`, watched from before its first request."""

    def __init__(
        self,
        browser: Browser,
        url: str,
        viewport: dict = DESKTOP,
        color_scheme: str = "light",
        javascript: bool = True,
        page_script: bool = True,
    ):
        """In a context of its own. `javascript`: whether the browser runs any; `page_script`:
        whether the page's own script does (when it does not, its URL answers an empty script,
        so the page stays as the server rendered it while tools such as axe still run in it)."""
        self.context = browser.new_context(viewport=viewport, color_scheme=color_scheme, java_script_enabled=javascript)
        self.context.add_init_script(VIOLATION_RECORDER)
        if not page_script:
            self.context.route(PAGE_SCRIPT, lambda route: route.fulfill(content_type="text/javascript", body=""))
        self.javascript = javascript
        self.page: Page = self.context.new_page()
        self.console_errors: list[str] = []
        self.error_statuses: list[int] = []
        self.page_errors: list[str] = []
        self.navigations = 0
        self.loaded: list[Loaded] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("framenavigated", self._navigated)
        self.page.on("response", self._received)
        self.document: Response = self.page.goto(url, wait_until="load")
        assert self.document is not None and self.document.status == 200, f"{url}: {self.document}"

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        failed = FAILED_STATUS.match(message.text)
        if failed:
            self.error_statuses.append(int(failed.group(1)))
        else:
            self.console_errors.append(message.text)

    def _navigated(self, frame) -> None:
        if frame == self.page.main_frame:
            self.navigations += 1

    def _received(self, response: Response) -> None:
        self.loaded.append(Loaded(response.url, response.status, response.request.resource_type, response))

    def responses(self, resource_type: str) -> list[Loaded]:
        """The responses of that type so far (`document`, `stylesheet`, `script`, `fetch`...).
        Playwright delivers events while it talks to the browser: one round trip first."""
        self.page.evaluate("0")
        return [loaded for loaded in self.loaded if loaded.resource_type == resource_type]

    def csp_violations(self) -> list[str]:
        """Violations the page's own listener saw (none is possible without JavaScript: the
        console still reports them then)."""
        return self.page.evaluate("() => window.__cspViolations ?? []")

    def problems(self, allowed_statuses: tuple[int, ...] = ()) -> list[str]:
        """Everything that must not happen: script errors, console errors (CSP violations
        included), violations, and error statuses other than `allowed_statuses`."""
        found = [f"page error: {e}" for e in self.page_errors]
        found += [f"console error: {e}" for e in self.console_errors]
        found += [f"CSP violation: {v}" for v in self.csp_violations()]
        found += [f"unexpected status {s}" for s in self.error_statuses if s not in allowed_statuses]
        return found

    def mark(self) -> str:
        """Leaves a token on `window`: it survives anything but a new document."""
        return self.page.evaluate("() => (window.__marker = crypto.randomUUID())")

    def marker(self) -> str | None:
        return self.page.evaluate("() => window.__marker ?? null")

    def document_loads(self) -> int:
        """Documents this page received: one per load of the page."""
        return len(self.responses("document"))

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)

    def overflow(self) -> tuple[int, int]:
        """The document's scroll width and the viewport's width."""
        return tuple(self.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]"))

    def close(self) -> None:
        self.context.close()
