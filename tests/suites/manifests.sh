#!/usr/bin/env bash
# The Kubernetes manifests, offline: every overlay renders; the core objects validate strictly
# against every Kubernetes minor of manifests/kubernetes-versions and the custom ones against
# their schemas; the hardening, availability, routing, HTTPS and monitoring invariants hold (the
# PrometheusRule is exactly the rules of observability/alerts.yaml); checkov and yamllint pass;
# and network-config-analyzer proves the exact connectivity of the NetworkPolicies for every
# ingress and monitoring flavour (and that it notices when a policy is loosened).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

command -v kubectl >/dev/null || die "kubectl not found (it renders the overlays: kubectl kustomize)"
# network-config-analyzer pins networkx 3.2.1 while checkov needs networkx < 2.7: nca has a group
# and an environment of its own (pyproject.toml); yamllint, kubernetes-validate and checkov are in
# the test environment.
require_python_group nca
require_python_env

log "render, validate, invariants, checkov, yamllint, network-config-analyzer (tests/manifests/test_manifests.py)"
pytest tests/manifests "$@"
