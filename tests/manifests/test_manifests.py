"""The Kubernetes manifests, offline (`tests/run manifests`): every overlay renders; the core
objects validate strictly against every Kubernetes minor of manifests/kubernetes-versions and the
custom ones against their schemas; the hardening, availability, routing, HTTPS and monitoring
invariants hold (the PrometheusRule is exactly the rules of observability/alerts.yaml), and the
compose gateway's per-client limits are the routes' (gateway_limits.py); checkov
and yamllint pass; and network-config-analyzer proves the exact connectivity of the
NetworkPolicies for every ingress and monitoring flavour, and notices when a policy is loosened.

The checks themselves are the modules beside this one (`checks`, `invariants`, `schemas`...);
network-config-analyzer runs from its own environment, .venv-nca (pyproject.toml, group nca).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from alert_rules import cmd_prometheus_rule
from checks import cmd_core_objects, cmd_loosen, cmd_nca_input
from gateway_limits import CONFIG as GATEWAY_CONFIG, check_gateway_limits
from invariants import cmd_invariants

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "manifests"
NCA = ROOT / ".venv-nca" / "bin" / "nca"
OVERLAYS = [
    "f5-nginx-ingress", "f5-nginx-ingress-https", "ingress-nginx", "app-routing", "gateway-fabric",
    "f5-nginx-ingress-prometheus-operator", "f5-nginx-ingress-azure-monitor",
]  # fmt: skip
# The default flavour, whose analysis is printed and mutated.
DEFAULT_OVERLAY = "f5-nginx-ingress"
# The minors the manifests are validated for, from their one place (aks/create-cluster.sh caps
# new clusters at the last one).
KUBERNETES_VERSIONS = [
    f"{line.strip()}.0"
    for line in (ROOT / "manifests" / "kubernetes-versions").read_text().splitlines()
    if line.strip() and not line.strip().startswith("#")
]
# Each loosened policy the analysis must notice, by overlay.
LOOSENED = [
    (DEFAULT_OVERLAY, "controller-from-any-namespace"),
    (DEFAULT_OVERLAY, "private-range-opened"),
    (DEFAULT_OVERLAY, "all-ports-to-public"),
    (DEFAULT_OVERLAY, "b-default-deny-removed"),
    ("f5-nginx-ingress-https", "acme-solver-from-any-namespace"),
    ("app-routing", "controller-from-any-namespace"),
    ("f5-nginx-ingress-prometheus-operator", "scraper-from-any-namespace"),
    ("f5-nginx-ingress-prometheus-operator", "scraper-on-every-port"),
    ("f5-nginx-ingress-azure-monitor", "scraper-from-any-kube-system-pod"),
]


def run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """Every overlay rendered by `kubectl kustomize` (offline), by name."""
    folder = tmp_path_factory.mktemp("rendered")
    files = {}
    for overlay in OVERLAYS:
        done = run("kubectl", "kustomize", f"manifests/overlays/{overlay}")
        assert done.returncode == 0, f"{overlay} does not render: {done.stderr}"
        files[overlay] = folder / f"{overlay}.yaml"
        files[overlay].write_text(done.stdout)
    return files


def test_the_kubernetes_minors_are_listed():
    assert KUBERNETES_VERSIONS, "manifests/kubernetes-versions lists no version"


def test_yamllint_finds_nothing():
    done = run("yamllint", "-s", "-c", str(DATA / "yamllint.yaml"), "manifests", str(DATA))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_prometheus_rule_is_the_rules_file_as_generated():
    assert cmd_prometheus_rule() == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_core_objects_validate_strictly_for_every_minor_and_the_custom_ones_by_schema(rendered, overlay, tmp_path):
    """kubernetes-validate knows the built-in kinds only and merely warns about others, so the
    custom kinds (Gateway API, cert-manager, Prometheus Operator, Azure Monitor) are taken out
    and checked against strict schemas instead (schemas.py). Any output of kubernetes-validate
    --quiet, a warning included, fails."""
    core = tmp_path / f"{overlay}.core.yaml"
    assert cmd_core_objects(str(rendered[overlay]), str(core)) == []
    for version in KUBERNETES_VERSIONS:
        done = run("kubernetes-validate", "--strict", "--quiet", "-k", version, str(core))
        assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), (
            f"{overlay} does not validate against Kubernetes {version}:\n{done.stdout}{done.stderr}"
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_hardening_availability_routing_and_monitoring_invariants_hold(rendered, overlay):
    assert cmd_invariants(overlay, str(rendered[overlay])) == []


def test_checkov_finds_nothing(rendered):
    """All overlays at once; the skips and their reasons are in checkov.yaml."""
    done = run("checkov", "-d", str(next(iter(rendered.values())).parent), "--config-file", str(DATA / "checkov.yaml"))
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def nca_input(rendered: Path, overlay: str, folder: Path) -> Path:
    """What network-config-analyzer reads for `overlay`, in a folder named like the overlay (so
    that its output names it): namespaces, workloads and policies, and the stand-ins for the
    controllers, scrapers, kube-dns and impostors."""
    target = folder / overlay
    assert cmd_nca_input(str(rendered), str(DATA / "stand-ins"), str(target), str(DATA / "nca" / overlay / "stand-ins")) == []
    return target


def nca_verdicts(overlay: str, folder: Path) -> list[str]:
    """network-config-analyzer's three verdicts on `folder`: the common and the flavour's
    must-permit connections allowed, the must-forbid ones denied, and the whole connectivity map
    exactly the reviewed one in nca/OVERLAY/connectivity.md; what failed, with nca's output."""
    assert NCA.exists(), f"{NCA} missing: tests/run manifests makes it (pyproject.toml, group nca)"
    spec = folder.parent / f"spec-{folder.name}"
    for kind in ("permit", "forbid"):
        (spec / kind).mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / "nca" / f"must-{kind}.yaml", spec / kind / "common.yaml")
        shutil.copy(DATA / "nca" / overlay / f"must-{kind}.yaml", spec / kind / f"{overlay}.yaml")
    base = folder.name
    queries = {
        "permits": ["--permits", str(spec / "permit"), "--base_np_list", base, "-r", base],
        "forbids": ["--forbids", str(spec / "forbid"), "--base_np_list", base, "-r", base],
        "connectivity": ["--connectivity", base, "-r", base, "--output_endpoints", "deployments", "-o", "md",
                         "--expected_output", str(DATA / "nca" / overlay / "connectivity.md")],
    }  # fmt: skip
    failed = []
    for name, args in queries.items():
        done = run(str(NCA), *args, cwd=folder.parent)
        if done.returncode != 0:
            failed.append(f"{name}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return failed


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_network_policies_give_exactly_the_reviewed_connectivity(rendered, overlay, tmp_path, report):
    folder = nca_input(rendered[overlay], overlay, tmp_path)
    assert nca_verdicts(overlay, folder) == []
    if overlay == DEFAULT_OVERLAY:
        table = run(str(NCA), "--connectivity", overlay, "-r", overlay, "--output_endpoints", "deployments", "-o", "md", cwd=tmp_path)
        lines = [line for line in table.stdout.splitlines() if line.startswith("|")]
        report.add(f"manifests: the connectivity nca computes for {overlay}", "\n".join(lines))


@pytest.mark.parametrize(("overlay", "mutation"), LOOSENED)
def test_a_loosened_policy_fails_the_analysis(rendered, overlay, mutation, tmp_path):
    folder = nca_input(rendered[overlay], overlay, tmp_path)
    assert cmd_loosen(mutation, str(folder / "rendered.yaml")) == []
    assert nca_verdicts(overlay, folder) != [], f"{mutation} of {overlay} went unnoticed"


def test_the_compose_gateway_limits_each_path_as_the_kubernetes_routes_do():
    assert check_gateway_limits(GATEWAY_CONFIG.read_text()) == []
