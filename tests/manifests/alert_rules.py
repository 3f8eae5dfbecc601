"""The PrometheusRule of components/prometheus-operator, a generated copy of the project's one
rules file, observability/alerts.yaml.

Kustomize cannot take the rules from there: it reads no file outside a kustomization's folder
(`kubectl apply -k` has no way to lift that restriction), and the rules file is not a Kubernetes
object that a resource, patch or generator could bring in as a PrometheusRule. So the
PrometheusRule is written by `render` below, committed, and the manifests suite fails when the
committed file differs from what the rules file gives now (regenerate with
`.venv/bin/python tests/manifests/checks.py prometheus-rule --write`).
"""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
RULES_FILE = "observability/alerts.yaml"
PROMETHEUS_RULE_FILE = "manifests/components/prometheus-operator/prometheusrule.yaml"

HEADER = f"""\
# GENERATED from {RULES_FILE}; do not edit. After changing the rules there, run
#   .venv/bin/python tests/manifests/checks.py prometheus-rule --write
# (tests/run manifests fails while this file differs from what the rules file gives).
#
# The rules as a Prometheus Operator PrometheusRule: its spec.groups are the rules file's groups,
# unchanged. kube-prometheus-stack's Prometheus loads it for its label release (see
# kustomization.yaml); the rules read metrics of both namespaces, so the operator must not
# enforce a namespace label on rules (prometheusSpec.enforcedNamespaceLabel, unset by default).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: btc-price-alerts
  namespace: service-a
  labels:
    app.kubernetes.io/part-of: btc-price
    release: kube-prometheus-stack
spec:
"""


def render(rules_text):
    """The PrometheusRule for RULES_TEXT: the header above, then the rules file from its `groups:`
    line on (its comments kept), indented under `spec:`."""
    lines = rules_text.splitlines()
    if "groups:" not in lines:
        raise ValueError(f"{RULES_FILE}: no top-level `groups:` line")
    body = lines[lines.index("groups:"):]
    return HEADER + "".join(f"  {line}\n" if line.strip() else "\n" for line in body)


def rules_groups():
    with open(REPO / RULES_FILE) as f:
        return yaml.safe_load(f)["groups"]


def cmd_prometheus_rule(*args):
    """Check (or, with --write, write) the committed PrometheusRule against the rules file: the
    text must be what render() gives, and its groups must equal the rules file's."""
    if args not in ((), ("--write",)):
        return ["usage: checks.py prometheus-rule [--write]"]
    expected = render((REPO / RULES_FILE).read_text())
    target = REPO / PROMETHEUS_RULE_FILE
    if args:
        target.write_text(expected)
    elif target.read_text() != expected:
        return [f"{PROMETHEUS_RULE_FILE} is not what {RULES_FILE} gives now; regenerate it: "
                ".venv/bin/python tests/manifests/checks.py prometheus-rule --write"]
    if yaml.safe_load(expected)["spec"] != {"groups": rules_groups()}:
        return [f"render() does not reproduce the groups of {RULES_FILE}"]
    return []
