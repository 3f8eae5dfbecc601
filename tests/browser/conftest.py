"""The browser suite's world: Service A (see `service`) started once with a few samples of a
price walk stored, the shared Chromium, and `target/browser/` for screenshots and logs (CI keeps
it). The tests run in the order of `MODULES` (the states last but one: each undoes what it
did); the measured figures (transfer size, latency of a new price, axe results) are printed at
the end."""

from __future__ import annotations

import time

import pytest

from browser.case import BrowserCase, World
from browser.service import ServiceA

MODULES = ["test_figures", "test_refresh", "test_without_javascript", "test_delivery", "test_states", "test_evidence"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser's tests in the order of `MODULES`, each module's in file order."""
    order = {name: index for index, name in enumerate(MODULES)}
    items.sort(key=lambda item: order.get(item.path.stem, len(MODULES)) if item.path.parent.name == "browser" else -1)


@pytest.fixture(scope="session", autouse=True)
def world(start_pod, start_gateway, chromium, workdir, report) -> World:
    started = time.monotonic()
    service = ServiceA.start(start_pod, start_gateway)
    service.warm_up()
    world = World(service=service, browser=chromium, artefacts=workdir)
    world.figures["chromium"] = chromium.version
    BrowserCase.world = world
    yield world
    world.figures["screenshots and logs"] = str(workdir)
    world.figures["duration (service up to the last test)"] = f"{time.monotonic() - started:.0f} s"
    report.add("browser: figures", "\n".join(f"{name}: {value}" for name, value in world.figures.items()))
