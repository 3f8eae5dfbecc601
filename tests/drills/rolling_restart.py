"""Rolling restart under load: two api-a and two api-b behind the real gateway, wrk through the
gateway throughout; one instance of each gets SIGTERM, its replacement starts on a new port and
takes traffic, then the other. Expected: zero failed requests seen by the client.

Also checked, per stopped instance, the shutdown contract (docs/configuration.md, "Connections and shutdown"): `/readyz`
answers 503 during `SHUTDOWN_DELAY`, then it exits 0 with its in-flight requests finished.

The gateway lists every address an instance will ever have (the replacements' too, refused
until they start), as nginx without a controller cannot learn new ones. nginx counts a refused
connection as a failure and skips that address for 10 s (`fail_timeout`), so "ready" here means
ready and receiving the gateway's traffic, which is also when an ingress controller would have
moved the endpoints: only then is the next instance stopped.
"""

from __future__ import annotations

import signal
import subprocess
import time
from contextlib import ExitStack

from harness import httpclient, prometheus, services
from harness.gateway import Gateway
from harness.pod import ServiceAPod
from harness.processes import free_port
from harness.services import Service
from harness.waiting import eventually
from harness.wrk import Wrk

from .report import Context, Row, mib, seconds

SHUTDOWN_DELAY = 1.0
EXIT_WITHIN = SHUTDOWN_DELAY + 5.0
TRAFFIC_WITHIN = 20.0
PATHS = ["/service1/current", "/service1/average", "/service2/"]


def run(context: Context) -> Row:
    row = Row("rolling-restart", injected="SIGTERM 2 api-a + 2 api-b one at a time, replacements started, under wrk")
    delay_env = {"SHUTDOWN_DELAY": f"{SHUTDOWN_DELAY:g}s"}
    with ExitStack() as stack:
        pod = stack.enter_context(ServiceAPod(context.binaries, context.workdir, {"kraken": 80_000.0}, api_env=delay_env))
        pod.start()
        first = {
            "a": [pod.api, stack.enter_context(pod.start_api("api-a-2"))],
            "b": [stack.enter_context(services.start_api_b(context.binaries, context.workdir, name=f"api-b-{i}", env=delay_env)) for i in (1, 2)],
        }  # fmt: skip
        replacement_ports = {kind: [free_port(), free_port()] for kind in first}
        # wrk is one client at thousands of requests a second: without the per-client rate
        # limits (the rate-limit drill drills them), every request reaches an instance.
        gateway = stack.enter_context(
            Gateway(
                context.workdir,
                {
                    f"service_{kind}": [f"127.0.0.1:{s.port}" for s in first[kind]]
                    + [f"127.0.0.1:{port}" for port in replacement_ports[kind]]
                    for kind in first
                },
                per_client_limits=False,
            )
        )
        gateway.start()
        for path in PATHS:
            eventually(lambda: httpclient.status_of(gateway.url(path)) == 200, 10, f"the gateway serves {path}")
        rss_before = {kind: first[kind][0].process.rss_kib() for kind in first}
        load = stack.enter_context(Wrk(context.workdir, gateway.url(), PATHS, seconds=300, connections=32))
        load.start()
        takeovers = []
        replacements: dict[str, list[Service]] = {"a": [], "b": []}
        for index in (0, 1):
            for kind in first:
                first[kind][index].process.terminate()
            stop_contract([first[kind][index] for kind in first], row)
            for kind in first:
                name = f"api-{kind}-{index + 1}-replacement"
                port = replacement_ports[kind][index]
                if kind == "a":
                    fresh = pod.start_api(name, port=port, env=delay_env)
                else:
                    fresh = services.start_api_b(context.binaries, context.workdir, name=name, port=port, env=delay_env)
                replacements[kind].append(stack.enter_context(fresh))
            for kind in first:
                takeovers.append(takes_traffic(replacements[kind][index], row))
        for kind in first:
            for service in replacements[kind]:
                eventually(lambda: served(service) > 0, 5, f"{service.name} serves")
        load.process.signal(signal.SIGINT)  # wrk prints its summary on SIGINT
        result = load.result()
        row.requests = result.requests
        row.failures = result.failures
        row.expect(result.failures == 0, f"the client saw {result.failures} failed requests ({result.describe_failures()})")
        row.expect(result.requests > 0, "wrk sent no request")
        log = gateway.error_log()
        refused = sum("connect() failed" in line for line in log)
        cut = sum("upstream prematurely closed" in line for line in log)
        # Both are retried by the gateway on another instance (GETs), so the client sees neither.
        row.recovery = (
            "replacements took traffic after " + ", ".join(takeovers) + f"; gateway retries: {refused} refused "
            f"connections, {cut} requests on keep-alive connections the instance closed"
        )
        row.memory = ", ".join(
            f"api-{kind} {mib(rss_before[kind])} → {mib(replacements[kind][-1].process.rss_kib())} MiB"
            for kind in first
        )
    return row


def stop_contract(stopping: list[Service], row: Row) -> None:
    """After SIGTERM, each of `stopping` (watched at once): /readyz 503 while the delay runs,
    then exit 0."""
    saw_503 = {service.name: False for service in stopping}
    deadline = time.monotonic() + EXIT_WITHIN
    while any(s.process.running() for s in stopping) and time.monotonic() < deadline:
        for service in stopping:
            if service.process.running() and not saw_503[service.name]:
                saw_503[service.name] = httpclient.status_of(service.url("/readyz"), timeout=0.5) == 503
        time.sleep(0.05)
    for service in stopping:
        row.expect(saw_503[service.name], f"{service.name}: /readyz never answered 503 after SIGTERM")
        try:
            status = service.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            row.problems.append(f"{service.name}: still running {EXIT_WITHIN:g} s after SIGTERM")
            service.process.kill()
            continue
        row.expect(status == 0, f"{service.name}: exit status {status} after SIGTERM, not 0")


def served(service: Service) -> float:
    """API requests served so far (the drill's own scrapes of /metrics and /readyz not counted)."""
    url = service.url("/metrics")
    return sum(prometheus.total(url, "http_requests_total", route=path) for path in PATHS)


def takes_traffic(service: Service, row: Row) -> str:
    """Waits until the gateway sends `service` requests; returns how long that took."""
    started = time.monotonic()
    baseline = served(service)
    try:
        eventually(lambda: served(service) >= baseline + 20, TRAFFIC_WITHIN, f"{service.name} gets the gateway's traffic")
    except AssertionError as err:
        row.problems.append(str(err))
        return f"{service.name} never"
    return f"{service.name.removesuffix('-replacement')} {seconds(time.monotonic() - started)}"
