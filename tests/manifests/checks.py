"""Offline checks of the rendered manifests that no installed tool makes.

    python3 tests/manifests/checks.py core-objects RENDERED OUT
        Write OUT with every object of RENDERED that kubernetes-validate knows (core Kubernetes
        kinds); check the custom-resource kinds this project uses (Gateway API, AKS app routing,
        cert-manager, Prometheus Operator, Azure Monitor) against strict schemas (schemas.py) and
        fail on any other custom kind.
    python3 tests/manifests/checks.py custom-resources FILE...
        Check custom resources (e.g. manifests/controllers/*.yaml) against those strict schemas.
    python3 tests/manifests/checks.py invariants OVERLAY RENDERED
        Check the hardening, availability, isolation and monitoring invariants of one rendered
        overlay (invariants.py, monitoring.py).
    python3 tests/manifests/checks.py prometheus-rule [--write]
        Check that components/prometheus-operator/prometheusrule.yaml is what
        observability/alerts.yaml gives (or, with --write, write it) (alert_rules.py).
    python3 tests/manifests/checks.py nca-input RENDERED STAND_INS OUT_DIR [STAND_INS...]
        Write what network-config-analyzer needs (namespaces, workloads, NetworkPolicies) from
        RENDERED plus the stand-ins into OUT_DIR.
    python3 tests/manifests/checks.py loosen MUTATION FILE
        Loosen the NetworkPolicies in FILE (an nca input) in one of the ways the analysis must
        notice: controller-from-any-namespace, private-range-opened, all-ports-to-public,
        b-default-deny-removed, acme-solver-from-any-namespace (HTTPS overlay),
        scraper-from-any-namespace, scraper-on-every-port (prometheus-operator overlay),
        scraper-from-any-kube-system-pod (azure-monitor overlay).

Every check prints one line per failure and the command exits 1 if there was any.
"""

import sys
from pathlib import Path

from alert_rules import cmd_prometheus_rule
from invariants import cmd_invariants
from resources import APP_NAMESPACES, dump, load
from schemas import check_custom, is_core


def cmd_core_objects(rendered, out):
    errors, core = [], []
    for obj in load(rendered):
        if is_core(obj):
            core.append(obj)
        else:
            check_custom(obj, errors)
    dump(core, out)
    return errors


def cmd_custom_resources(*files):
    errors = []
    for path in files:
        for obj in load(path):
            check_custom(obj, errors)
    return errors


# --- network-config-analyzer input ------------------------------------------------------------

def cmd_nca_input(rendered, stand_ins, out_dir, *more_stand_ins):
    """nca models Ingress and Gateway objects itself; the NetworkPolicies are what is under test,
    so it gets namespaces, workloads and policies only. More stand-in directories (an overlay's
    own, e.g. the ACME solver pod of the HTTPS overlay) are added when they exist."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kinds = {"Namespace", "Deployment", "NetworkPolicy"}
    docs = [d for d in load(rendered) if d["kind"] in kinds]
    names = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
    dump(docs, out / "rendered.yaml")
    paths = [p for d in (stand_ins, *more_stand_ins) for p in sorted(Path(d).glob("*.yaml"))]
    for path in paths:
        extra = [d for d in load(path)
                 if not (d["kind"] == "Namespace" and d["metadata"]["name"] in names)]
        dump(extra, out / path.name)
    return []


def policy(docs, namespace, name):
    return next(d for d in docs if d["kind"] == "NetworkPolicy"
                and (d["metadata"]["namespace"], d["metadata"]["name"]) == (namespace, name))


def cmd_loosen(mutation, path):
    """Realistic mistakes: the controller admitted from any namespace (an impostor with copied
    labels gets in), 10.0.0.0/8 no longer excepted, Service A's public egress on every port,
    Service B's default deny gone; the metrics scraper admitted from any namespace, on every
    port, or as any pod of kube-system (where the add-on's collectors run)."""
    docs = load(path)
    scraper = [policy(docs, ns, "allow-from-metrics-scraper") for ns in APP_NAMESPACES
               if mutation.startswith("scraper-")]
    if mutation == "controller-from-any-namespace":
        for ns in APP_NAMESPACES:
            for rule in policy(docs, ns, "allow-from-ingress-controller")["spec"]["ingress"]:
                for peer in rule["from"]:
                    peer["namespaceSelector"] = {}
    elif mutation == "private-range-opened":
        for rule in policy(docs, "service-a", "service-a-egress")["spec"]["egress"]:
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    peer["ipBlock"]["except"].remove("10.0.0.0/8")
    elif mutation == "all-ports-to-public":
        for rule in policy(docs, "service-a", "service-a-egress")["spec"]["egress"]:
            if any("ipBlock" in peer for peer in rule["to"]):
                del rule["ports"]
    elif mutation == "acme-solver-from-any-namespace":
        solver = policy(docs, "service-a", "allow-acme-solver-from-ingress-controller")
        for rule in solver["spec"]["ingress"]:
            for peer in rule["from"]:
                peer["namespaceSelector"] = {}
    elif mutation == "scraper-from-any-namespace":
        for rule in (rule for p in scraper for rule in p["spec"]["ingress"]):
            for peer in rule["from"]:
                peer["namespaceSelector"] = {}
    elif mutation == "scraper-on-every-port":
        for rule in (rule for p in scraper for rule in p["spec"]["ingress"]):
            del rule["ports"]
    elif mutation == "scraper-from-any-kube-system-pod":
        for rule in (rule for p in scraper for rule in p["spec"]["ingress"]):
            for peer in rule["from"]:
                peer["podSelector"] = {}
    elif mutation == "b-default-deny-removed":
        docs.remove(policy(docs, "service-b", "default-deny-all"))
    else:
        return [f"unknown mutation {mutation}"]
    dump(docs, path)
    return []


COMMANDS = {
    "core-objects": cmd_core_objects,
    "custom-resources": cmd_custom_resources,
    "invariants": cmd_invariants,
    "prometheus-rule": cmd_prometheus_rule,
    "nca-input": cmd_nca_input,
    "loosen": cmd_loosen,
}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        sys.exit(__doc__)
    errors = COMMANDS[argv[1]](*argv[2:])
    for error in errors:
        print(f"FAIL {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
