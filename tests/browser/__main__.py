"""Runs the browser tests: `PYTHONPATH=tests python -m browser [TEST_NAME...]`, e.g.
`python -m browser test_states.States.test_stale_prices_are_flagged_since_their_time`.

Builds the release binaries (or takes them from `BROWSER_BINARY_DIR`, e.g. another checkout's
`target/release`), starts Service A once (see `service`) with a few samples of a price walk
stored, launches Chromium, and runs the tests in the order below (the states last: each undoes
what it did). Screenshots and logs go to `target/browser/` (`BROWSER_ARTEFACTS` to change it),
which CI keeps; the measured figures (transfer size, latency of a new price, axe results) are
printed at the end. Exits 1 when a test fails.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import unittest
from pathlib import Path

from playwright.sync_api import sync_playwright

from harness import binaries

from .case import BrowserCase, World
from .chromium import launch
from .service import ServiceA

MODULES = ["test_figures", "test_refresh", "test_without_javascript", "test_delivery", "test_states", "test_evidence"]


def main(names: list[str]) -> int:
    binary_dir = os.environ.get("BROWSER_BINARY_DIR")
    built = binaries.locate(Path(binary_dir)) if binary_dir else binaries.build_release()
    artefacts = Path(os.environ.get("BROWSER_ARTEFACTS", binaries.REPO_ROOT / "target" / "browser"))
    shutil.rmtree(artefacts, ignore_errors=True)
    artefacts.mkdir(parents=True)
    started = time.monotonic()
    suite = unittest.defaultTestLoader.loadTestsFromNames([f"browser.{name}" for name in names or MODULES])
    with ServiceA(built, artefacts / "logs").start() as service, sync_playwright() as playwright:
        service.warm_up()
        browser = launch(playwright)
        world = World(service=service, browser=browser, artefacts=artefacts)
        world.figures["chromium"] = browser.version
        BrowserCase.world = world
        result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
        browser.close()
    print("\nfigures:")
    for name, value in world.figures.items():
        print(f"  {name}: {value}")
    print(f"  screenshots and logs: {artefacts}")
    print(f"  duration (service up to browser closed): {time.monotonic() - started:.0f} s")
    failed = len(result.failures) + len(result.errors)
    print(f"\n{result.testsRun - failed - len(result.skipped)} passed, {failed} failed")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
