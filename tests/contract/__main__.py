"""The contract suite's live part: `PYTHONPATH=tests python3 -m contract` (tests/run contract).

The release binaries (api-a on a real redis-server, the poller asking a fake exchange, api-b)
and a real nginx running gateway/nginx.conf. Schemathesis fuzzes each service from the document
it serves, with every check on: directly on the service's port (every operation, the
operational routes included) and through the gateway (the operations under the base path, the
only ones it routes); api-a in each of its states (see `states`). Then each tampered document of
`tampering` must make Schemathesis fail the check it names. Prints a table of the runs (requests
sent, from Schemathesis's own report, and answered, from the service's own counter) and exits
1 on any failure.

Environment: `CONTRACT_EXAMPLES=N` test cases at most per operation and run (default 50; e.g.
1000 for a long local run); `CONTRACT_SEED=N` replays a run's seed; `CONTRACT_BINARY_DIR=DIR`
uses binaries already built in DIR (e.g. a worktree's, to watch a change fail).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness import binaries, httpclient, services
from harness.gateway import Gateway

from . import report, runs, states
from .runs import Outcome, Run
from .tampering import TAMPERINGS, Tampering

ROOT = binaries.REPO_ROOT
DEFAULT_EXAMPLES = 50
# Directly, every operation: every path. An explicit selection also takes in the document's own
# operation (`{BASE_PATH}/openapi.json`), which Schemathesis otherwise leaves out.
EVERY_PATH = "^/"


def main() -> int:
    examples = int(os.environ.get("CONTRACT_EXAMPLES") or DEFAULT_EXAMPLES)
    seed = int(os.environ["CONTRACT_SEED"]) if os.environ.get("CONTRACT_SEED") else None
    binary_dir = os.environ.get("CONTRACT_BINARY_DIR")
    built = binaries.locate(Path(binary_dir)) if binary_dir else binaries.build_release()
    workdir = ROOT / "target" / "contract"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    started = time.monotonic()
    outcomes: list[Outcome] = []
    tampered: list[tuple[Tampering, Outcome]] = []

    def execute(run: Run) -> Outcome:
        outcome = runs.execute(run, workdir / "runs", examples, seed)
        outcomes.append(outcome)
        print(f"    {run.service}, {run.state}, {run.route}: {outcome.requests} requests, "
              f"{len(outcome.summary.findings)} findings, {outcome.seconds:.1f} s", flush=True)  # fmt: skip
        return outcome

    with contextlib.ExitStack() as stack:
        service_a = stack.enter_context(states.ServiceA(built, workdir).start())
        api_b = stack.enter_context(services.start_api_b(built, workdir))
        assert service_a.api is not None
        # Schemathesis is one client asking as fast as it can: without the per-client rate limits
        # (the drills drill them), each of its requests reaches the service.
        gateway = stack.enter_context(
            Gateway(
                workdir,
                {"service_a": [f"127.0.0.1:{service_a.api.port}"], "service_b": [f"127.0.0.1:{api_b.port}"]},
                per_client_limits=False,
            )
        )
        gateway.start()
        print(f"\n==> {schemathesis_version()}, at most {examples} test cases per operation", flush=True)

        print("\n==> api-b", flush=True)
        for run in service_runs("api-b", "running", api_b, gateway, services.SERVICE_B_BASE_PATH):
            execute(run)

        for state in states.STATES:
            print(f"\n==> api-a: {state.name}", flush=True)
            entered = service_a.enter(state)
            for run in service_runs("api-a", state.name, service_a.api, gateway, services.SERVICE_A_BASE_PATH):
                outcome = execute(run)
                if entered is not None:
                    outcome.problems.append(f"api-a never reached the state: {entered}")
                elif problem := service_a.problem(state):
                    outcome.problems.append(f"the state changed during the run: {problem}")
            for tampering in (t for t in TAMPERINGS if t.state is state):
                tampered.append((tampering, tampered_run(tampering, service_a.api, workdir, examples, seed)))

    print(f"\n{report.runs_table(outcomes)}\n", flush=True)
    print(f"{report.tamperings_table(tampered)}\n", flush=True)
    failed = [o for o in outcomes if o.failed]
    missed = [t for t, o in tampered if not report.caught(t, o)]
    for outcome in failed:
        print(report.details(outcome), end="\n\n")
    for tampering, outcome in tampered:
        if not report.caught(tampering, outcome):
            print(f"tampered document '{tampering.name}' not caught: {tampering.expected_check} did not fail "
                  f"(failed: {report.failed_checks(outcome) or 'none'}); log: {outcome.log}")  # fmt: skip
    total, tampering_total = sum(o.requests for o in outcomes), sum(o.requests for _, o in tampered)
    print(f"contract suite: {time.monotonic() - started:.0f} s; {total} requests in the runs, {tampering_total} "
          f"with the tampered documents; reports and logs in {workdir}")  # fmt: skip
    passed = len(outcomes) - len(failed) + len(tampered) - len(missed)
    print(f"{passed} passed, {len(failed) + len(missed)} failed")
    return 1 if failed or missed else 0


def service_runs(service: str, state: str, server: services.Service, gateway: Gateway, base_path: str) -> list[Run]:
    """The two runs of one service in one state: on its own port, every operation; through the
    gateway, those under its base path (what the gateway routes)."""
    document = served_document(server.url(f"{base_path}/openapi.json"))
    routed = f"^{re.escape(base_path)}(/|$)"
    return [
        Run(service, state, runs.DIRECT, server.url(f"{base_path}/openapi.json"), ("--include-path-regex", EVERY_PATH),
            runs.operations(document, EVERY_PATH), server.url("/metrics")),
        Run(service, state, runs.GATEWAY, gateway.url(f"{base_path}/openapi.json"), ("--include-path-regex", routed),
            runs.operations(document, routed), server.url("/metrics")),
    ]  # fmt: skip


def tampered_run(tampering: Tampering, api: services.Service, workdir: Path, examples: int, seed: int | None) -> Outcome:
    """Schemathesis on one operation of api-a, from a tampered copy of the document it serves."""
    document = served_document(api.url(f"{services.SERVICE_A_BASE_PATH}/openapi.json"))
    path = workdir / "tampered" / f"{tampering.name.replace(' ', '-')}.openapi.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tampering.apply(document), indent=2))
    run = Run("api-a", tampering.state.name, runs.DIRECT, str(path), ("--include-path", tampering.path),
              frozenset({f"GET {tampering.path}"}), base_url=api.url("/"), variant=tampering.name)  # fmt: skip
    outcome = runs.execute(run, workdir / "tampered", examples, seed)
    print(f"    tampered document '{tampering.name}': {', '.join(report.failed_checks(outcome)) or 'nothing'} failed",
          flush=True)  # fmt: skip
    return outcome


def served_document(url: str) -> dict:
    answer = httpclient.get(url)
    if answer.status != 200:
        raise AssertionError(f"{url} answered {answer.status}")
    return answer.json()


def schemathesis_version() -> str:
    """`Schemathesis 4.32.5` (`st --version` says `st, version 4.32.5`)."""
    answer = subprocess.run(["st", "--version"], check=True, capture_output=True, text=True).stdout
    return "Schemathesis " + answer.strip().rpartition(" ")[2]


if __name__ == "__main__":
    sys.exit(main())
