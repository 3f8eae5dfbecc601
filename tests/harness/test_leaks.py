"""The check that no process outlives the tests (`leaks`), shown to notice what it is for: nginx's
workers outliving their master, which is what a SIGKILL to the master alone leaves."""

from __future__ import annotations

import os
import shutil
import signal

import pytest

from harness import leaks
from harness.binaries import REPO_ROOT
from harness.gateway import Gateway
from harness.processes import free_port
from harness.waiting import eventually

pytestmark = pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")


def a_gateway(tmp_path) -> Gateway:
    nowhere = [f"127.0.0.1:{free_port()}"]
    return Gateway(tmp_path, {"service_a": nowhere, "service_b": nowhere}).start()


def test_workers_whose_master_alone_was_killed_are_left_behind_and_found(tmp_path):
    gateway = a_gateway(tmp_path)
    master = gateway.process.pid
    try:
        os.kill(master, signal.SIGKILL)
        gateway.process.wait(timeout=5)
        left = eventually(lambda: leaks.of_sessions({master}), 5, "the orphaned workers")
        assert all("nginx: worker process" in leftover.command for leftover in left)
        assert {leftover.pid for leftover in left} <= {leftover.pid for leftover in leaks.in_checkout(REPO_ROOT)}
    finally:
        gateway.process.kill()
    assert leaks.of_sessions({master}) == []


def test_stopping_a_gateway_stops_its_workers_too(tmp_path):
    gateway = a_gateway(tmp_path)
    master = gateway.process.pid
    assert len(leaks.of_sessions({master})) >= 2, "a master and at least one worker"
    gateway.process.kill()
    assert leaks.of_sessions({master}) == []
