"""Service A's pods at rest: no request, the poller writing one sample per interval as it does in
production. CPU time is read from /proc/PID/stat (user + system) at both ends of one interval,
for every pod at once."""

from __future__ import annotations

import time

from harness.pod import ServiceAPod

from .figures import WindowIdle, cpu_percent


def measure(pods: dict[str, ServiceAPod], seconds: float) -> dict[str, WindowIdle]:
    """Each pod's api-a and Redis CPU over the same `seconds`, and api-a's memory at the end."""
    processes = {
        (key, role): process
        for key, pod in pods.items()
        for role, process in (("api", pod.api.process), ("redis", pod.redis.process))
    }
    before = {name: process.cpu_seconds() for name, process in processes.items()}
    started = time.monotonic()
    time.sleep(seconds)  # the measurement itself: the pods run untouched meanwhile
    used = {name: process.cpu_seconds() - before[name] for name, process in processes.items()}
    wall = time.monotonic() - started
    return {
        key: WindowIdle(
            api_cpu_percent=cpu_percent(used[(key, "api")], wall),
            redis_cpu_percent=cpu_percent(used[(key, "redis")], wall),
            api_rss_kib=pod.api.process.rss_kib(),
        )
        for key, pod in pods.items()
    }
