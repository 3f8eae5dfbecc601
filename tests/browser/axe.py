"""axe-core (npm, pinned in `package.json`, installed by `tests/suites/browser.sh`) run inside a
page. It is evaluated through the DevTools protocol, as Playwright evaluates any script, so the
page's Content-Security-Policy (no inline script) does not block it and is not loosened for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from playwright.sync_api import Page

SOURCE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.impact} {self.rule} ({self.help}) at {', '.join(self.targets)}"


@cache
def source() -> str:
    if not SOURCE.is_file():
        raise FileNotFoundError(f"{SOURCE}: run tests/suites/browser.sh, which installs axe-core")
    return SOURCE.read_text()


def run(page: Page) -> list[Violation]:
    """Every violation of axe's default rules (WCAG 2.x A and AA and best practices) on the page
    as it is now, whatever its impact. axe needs JavaScript: in a page without it, its timers
    never fire and it never ends."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source())
    results = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [
        Violation(
            rule=v["id"],
            impact=v["impact"] or "unknown",
            help=v["help"],
            targets=tuple(str(node["target"]) for node in v["nodes"]),
        )
        for v in results["violations"]
    ]


def version(page: Page) -> str:
    return page.evaluate("() => axe.version")


def blocking(violations: list[Violation]) -> list[Violation]:
    """The serious and critical ones: none may remain."""
    return [v for v in violations if v.impact in BLOCKING]
