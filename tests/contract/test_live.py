"""The contract, live (`tests/run contract`): the release binaries (api-a on a real redis-server,
the poller asking a fake exchange, api-b) and a real nginx running gateway/nginx.conf.
Schemathesis fuzzes each service from the document it serves, with every check on: directly on
the service's port (every operation, the operational routes included) and through the gateway
(the operations under the base path, the only ones it routes); api-a in each of its states, in
the order a pod lives them (see `states`). After the runs of a state, each tampered document of
`tampering` aimed at that state must make Schemathesis fail the check it names. The runs'
table (requests sent, from Schemathesis's own report, and answered, from the service's own
counter) and the tamperings' are printed at the end and written to target/contract/report.md.

Environment: `CONTRACT_EXAMPLES=N` test cases at most per operation and run (default 50; e.g.
1000 for a long local run); `CONTRACT_SEED=N` replays a run's seed; `BINARY_DIR=DIR` uses
binaries already built in DIR (e.g. a worktree's, to watch a change fail).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import httpclient, services
from harness.gateway import Gateway

from contract import report as tables
from contract import runs, states
from contract.runs import Outcome, Run
from contract.states import NO_PRICE_YET, PRICE_AVAILABLE, REDIS_DOWN, REDIS_HANGING, State
from contract.tampering import TAMPERINGS, Tampering

EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES") or 50)
SEED = int(os.environ["CONTRACT_SEED"]) if os.environ.get("CONTRACT_SEED") else None
# Directly, every operation: every path. An explicit selection also takes in the document's own
# operation (`{BASE_PATH}/openapi.json`), which Schemathesis otherwise leaves out.
EVERY_PATH = "^/"
ROUTES = (runs.DIRECT, runs.GATEWAY)


@dataclass
class Contract:
    service_a: states.ServiceA
    api_b: services.Service
    gateway: Gateway
    workdir: Path
    outcomes: list[Outcome] = field(default_factory=list)
    tampered: list[tuple[Tampering, Outcome]] = field(default_factory=list)

    def check(self, service: str, state: str, route: str, server: services.Service, base_path: str) -> Outcome:
        """One Schemathesis run of `service` in `state` through `route`; recorded for the table."""
        outcome = runs.execute(service_run(service, state, route, server, self.gateway, base_path), self.workdir / "runs", EXAMPLES, SEED)
        self.outcomes.append(outcome)
        return outcome

    def check_api_a(self, state: State, route: str) -> None:
        entered = self.service_a.enter(state)
        outcome = self.check("api-a", state.name, route, self.service_a.api, services.SERVICE_A_BASE_PATH)
        if entered is not None:
            outcome.problems.append(f"api-a never reached the state: {entered}")
        elif problem := self.service_a.problem(state):
            outcome.problems.append(f"the state changed during the run: {problem}")
        assert not outcome.failed, tables.details(outcome)

    def check_tampering(self, tampering: Tampering) -> None:
        assert self.service_a.enter(tampering.state) is None, f"api-a never reached {tampering.state.name}"
        outcome = tampered_run(tampering, self.service_a.api, self.workdir, EXAMPLES, SEED)
        self.tampered.append((tampering, outcome))
        assert tables.caught(tampering, outcome), (
            f"tampered document '{tampering.name}' not caught: {tampering.expected_check} did not fail "
            f"(failed: {tables.failed_checks(outcome) or 'none'}); log: {outcome.log}"
        )


@pytest.fixture(scope="module")
def contract(start_pod, start_api_b, start_gateway, workdir, report) -> Contract:
    pod = start_pod(states.PRICES, poller=False, appendonly=False)
    api_b = start_api_b()
    # Schemathesis is one client asking as fast as it can: without the per-client rate limits
    # (the drills drill them), each of its requests reaches the service.
    gateway = start_gateway(
        service_a=[f"127.0.0.1:{pod.api.port}"], service_b=[f"127.0.0.1:{api_b.port}"], per_client_limits=False
    )
    contract = Contract(states.ServiceA(pod), api_b, gateway, workdir)
    yield contract
    text = "\n\n".join([
        f"{schemathesis_version()}, at most {EXAMPLES} test cases per operation",
        tables.runs_table(contract.outcomes),
        tables.tamperings_table(contract.tampered),
        f"{sum(o.requests for o in contract.outcomes)} requests in the runs, "
        f"{sum(o.requests for _, o in contract.tampered)} with the tampered documents; reports and logs in {workdir}",
    ])  # fmt: skip
    (workdir / "report.md").write_text(text + "\n")
    report.add("contract", text)


def tamperings_of(state: State) -> list:
    return [pytest.param(t, id=t.name.replace(" ", "-")) for t in TAMPERINGS if t.state is state]


@pytest.mark.parametrize("route", ROUTES)
def test_api_b_keeps_its_contract(contract: Contract, route: str):
    outcome = contract.check("api-b", "running", route, contract.api_b, services.SERVICE_B_BASE_PATH)
    assert not outcome.failed, tables.details(outcome)


@pytest.mark.parametrize("route", ROUTES)
def test_api_a_keeps_its_contract_before_any_price(contract: Contract, route: str):
    contract.check_api_a(NO_PRICE_YET, route)


@pytest.mark.parametrize("tampering", tamperings_of(NO_PRICE_YET))
def test_a_document_tampered_before_any_price_fails_its_check(contract: Contract, tampering: Tampering):
    contract.check_tampering(tampering)


@pytest.mark.parametrize("route", ROUTES)
def test_api_a_keeps_its_contract_with_a_price(contract: Contract, route: str):
    contract.check_api_a(PRICE_AVAILABLE, route)


@pytest.mark.parametrize("tampering", tamperings_of(PRICE_AVAILABLE))
def test_a_document_tampered_with_a_price_fails_its_check(contract: Contract, tampering: Tampering):
    contract.check_tampering(tampering)


@pytest.mark.parametrize("route", ROUTES)
def test_api_a_keeps_its_contract_while_redis_hangs(contract: Contract, route: str):
    contract.check_api_a(REDIS_HANGING, route)


@pytest.mark.parametrize("route", ROUTES)
def test_api_a_keeps_its_contract_while_redis_is_down(contract: Contract, route: str):
    contract.check_api_a(REDIS_DOWN, route)


def test_every_state_and_every_tampering_is_checked():
    """The functions above cover `states.STATES` and `TAMPERINGS`: a new state or tampering
    needs its test."""
    assert states.STATES == (NO_PRICE_YET, PRICE_AVAILABLE, REDIS_HANGING, REDIS_DOWN)
    assert {t.state for t in TAMPERINGS} <= {NO_PRICE_YET, PRICE_AVAILABLE}


def service_run(service: str, state: str, route: str, server: services.Service, gateway: Gateway, base_path: str) -> Run:
    """One run of one service in one state: on its own port, every operation; through the
    gateway, those under its base path (what the gateway routes)."""
    document = served_document(server.url(f"{base_path}/openapi.json"))
    if route == runs.DIRECT:
        return Run(service, state, route, server.url(f"{base_path}/openapi.json"), ("--include-path-regex", EVERY_PATH),
                   runs.operations(document, EVERY_PATH), server.url("/metrics"))  # fmt: skip
    routed = f"^{re.escape(base_path)}(/|$)"
    return Run(service, state, route, gateway.url(f"{base_path}/openapi.json"), ("--include-path-regex", routed),
               runs.operations(document, routed), server.url("/metrics"))  # fmt: skip


def tampered_run(tampering: Tampering, api: services.Service, workdir: Path, examples: int, seed: int | None) -> Outcome:
    """Schemathesis on one operation of api-a, from a tampered copy of the document it serves."""
    document = served_document(api.url(f"{services.SERVICE_A_BASE_PATH}/openapi.json"))
    path = workdir / "tampered" / f"{tampering.name.replace(' ', '-')}.openapi.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tampering.apply(document), indent=2))
    run = Run("api-a", tampering.state.name, runs.DIRECT, str(path), ("--include-path", tampering.path),
              frozenset({f"GET {tampering.path}"}), base_url=api.url("/"), variant=tampering.name)  # fmt: skip
    return runs.execute(run, workdir / "tampered", examples, seed)


def served_document(url: str) -> dict:
    answer = httpclient.get(url)
    if answer.status != 200:
        raise AssertionError(f"{url} answered {answer.status}")
    return answer.json()


def schemathesis_version() -> str:
    """`Schemathesis 4.32.5` (`st --version` says `st, version 4.32.5`)."""
    answer = subprocess.run(["st", "--version"], check=True, capture_output=True, text=True).stdout
    return "Schemathesis " + answer.strip().rpartition(" ")[2]
