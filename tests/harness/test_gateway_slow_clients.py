"""Clients that hold the gateway's connections before their head is read (gateway/nginx.conf, run
for real by the machine's nginx, in front of the release binaries): no per-client limit counts
them (nginx counts a client once its head is read), so what keeps one address from filling the
gateway is room and the header timeout (docs/configuration.md, "Clients that hold connections at
the gateway"). One address holds more unfinished heads than the 1 024 a worker held before, still
sending a header line a second: the gateway holds them all (out of room, nginx would close the
oldest unfinished heads, an honest slow client's among them) while another client is answered,
and closes each within the header timeout of its first byte (+1 s), without an answer (nginx's
408 would be no problem body; it sends none)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from harness import httpclient
from harness.floods import Flood, established
from harness.gateway import seconds_setting
from harness.processes import raise_open_files_limit
from harness.waiting import NotInTime, eventually

OLD_WORKER_CONNECTIONS = 1024
"""What each worker held before; the flood is more than all of them together."""

pytestmark = pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")


def workers(master: int) -> int:
    """How many processes `master` started (nginx's workers)."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        count += int(fields[1]) == master
    return count


def test_one_address_holding_unfinished_heads_leaves_room_for_others_and_is_closed_in_time(behind_the_gateway):
    gateway = behind_the_gateway.gateway
    count = workers(gateway.process.pid) * OLD_WORKER_CONNECTIONS + 500
    # The flood's sockets in its own process and as many in nginx's: both need the descriptors.
    if raise_open_files_limit() < count + 1024:
        pytest.skip(f"the open-files limit ({raise_open_files_limit()}) is below {count + 1024}")
    timeout = seconds_setting("client_header_timeout", 60.0)
    other = "127.0.0.2"
    with Flood("unfinished-heads", gateway.port, count, "/service2/", hold_for=timeout + 3, drip_every=1.0) as flood:
        try:
            eventually(lambda: established(gateway.port) >= count, 4.0, f"{count} connections held")
            held = True
        except NotInTime:
            held = False  # the other client says why (a full gateway refuses it)
        answers = []
        for _ in range(5):
            try:
                answer = httpclient.get(gateway.url("/service2/"), timeout=1.0, source=other)
                answers.append(f"{answer.status} in {answer.elapsed:.2f} s")
            except OSError as err:
                answers.append(repr(err))
            time.sleep(0.2)  # spread over the hold, not a wait for a condition
        assert all(a.startswith("200 ") and float(a.split()[2]) <= 1.0 for a in answers), f"another client: {answers}"
        # Out of room, nginx closes the oldest unfinished heads (a slow honest client's too).
        evicted = [line for line in gateway.error_log() if "worker_connections are not enough" in line]
        assert held and not evicted, f"the gateway did not hold {count} connections: {evicted[:1]}"
        result = flood.result()
    assert (result.opened, result.failed_to_open) == (count, 0), result
    assert result.still_open == 0, f"{result.still_open} heads still open after {timeout + 3} s"
    assert result.max_closed_after <= timeout + 1, f"a head closed {result.max_closed_after:.1f} s after its first byte"
    assert result.statuses == {}, f"answered before closing: {result.statuses}"
