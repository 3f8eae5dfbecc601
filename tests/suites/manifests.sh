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

overlays=(f5-nginx-ingress f5-nginx-ingress-https ingress-nginx app-routing gateway-fabric
  f5-nginx-ingress-prometheus-operator f5-nginx-ingress-azure-monitor)
# The default flavour, whose analysis is printed and mutated below.
default_overlay=f5-nginx-ingress
# The minors the manifests are validated for, from their one place (aks/create-cluster.sh caps
# new clusters at the last one).
mapfile -t kubernetes_versions < <(grep -Ev '^[[:space:]]*(#|$)' manifests/kubernetes-versions | sed 's/$/.0/')
[ ${#kubernetes_versions[@]} -gt 0 ] || die "manifests/kubernetes-versions lists no version"
data=tests/manifests

command -v kubectl >/dev/null || die "kubectl not found (it renders the overlays: kubectl kustomize)"
# network-config-analyzer pins networkx 3.2.1 while checkov needs networkx < 2.7: they cannot share
# a virtualenv, so nca gets its own.
PIP_TOOLS_VENV=.venv-nca require_pip_tools network-config-analyzer==2.1.0
nca=$PWD/.venv-nca/bin/nca
require_pip_tools yamllint==1.38.0 kubernetes-validate==1.37.0 checkov==3.3.30
checks=("$PWD/.venv/bin/python" "$PWD/$data/checks.py")

root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rendered"

log "render every overlay (kubectl kustomize, offline)"
for overlay in "${overlays[@]}"; do
  kubectl kustomize "manifests/overlays/$overlay" > "$work/rendered/$overlay.yaml"
  printf '  %-38s %3d objects\n' "$overlay" "$(grep -c '^kind:' "$work/rendered/$overlay.yaml")"
done

log "yamllint"
yamllint -s -c "$data/yamllint.yaml" manifests "$data"

log "the PrometheusRule is the one rules file's (observability/alerts.yaml), as generated"
"${checks[@]}" prometheus-rule
echo "  manifests/components/prometheus-operator/prometheusrule.yaml: up to date, same groups"

log "kubernetes-validate --strict against Kubernetes ${kubernetes_versions[*]}"
# kubernetes-validate knows the built-in kinds only and merely warns about others, so the custom
# kinds (Gateway API, cert-manager, Prometheus Operator, Azure Monitor) are taken
# out and checked against strict schemas instead
# (tests/manifests/schemas.py). Any output of kubernetes-validate --quiet, a warning included, fails.
for overlay in "${overlays[@]}"; do
  "${checks[@]}" core-objects "$work/rendered/$overlay.yaml" "$work/$overlay.core.yaml"
  for version in "${kubernetes_versions[@]}"; do
    if ! output=$(kubernetes-validate --strict --quiet -k "$version" "$work/$overlay.core.yaml" 2>&1) \
        || [ -n "$output" ]; then
      printf '%s\n' "$output"
      die "$overlay does not validate against Kubernetes $version"
    fi
  done
  echo "  $overlay: valid for ${kubernetes_versions[*]}"
done

log "invariants: hardening, probes, resources, replicas, PDB, HPA, spread, shutdown, PSA, Redis, routes, RBAC, monitoring"
for overlay in "${overlays[@]}"; do
  "${checks[@]}" invariants "$overlay" "$work/rendered/$overlay.yaml"
done

log "checkov (all overlays at once; skips and their reasons in $data/checkov.yaml)"
checkov -d "$work/rendered" --config-file "$data/checkov.yaml"

# nca_check NAME DIR: network-config-analyzer's three verdicts on the namespaces, workloads and
# policies in DIR (a directory named like the overlay, so that its output names it): the common
# and the flavour's must-permit connections are allowed, the must-forbid ones denied, and the
# whole connectivity map is exactly the reviewed one in $data/nca/NAME/connectivity.md.
nca_check() {
  local name=$1 dir=$2 spec=$work/spec/$1
  mkdir -p "$spec/permit" "$spec/forbid"
  cp "$data/nca/must-permit.yaml" "$spec/permit/common.yaml"
  cp "$data/nca/$name/must-permit.yaml" "$spec/permit/$name.yaml"
  cp "$data/nca/must-forbid.yaml" "$spec/forbid/common.yaml"
  cp "$data/nca/$name/must-forbid.yaml" "$spec/forbid/$name.yaml"
  (
    cd "$(dirname "$dir")"
    local base
    base=$(basename "$dir")
    "$nca" --permits "$spec/permit" --base_np_list "$base" -r "$base" >> "$work/nca.log" 2>&1 &&
    "$nca" --forbids "$spec/forbid" --base_np_list "$base" -r "$base" >> "$work/nca.log" 2>&1 &&
    "$nca" --connectivity "$base" -r "$base" --output_endpoints deployments -o md \
      --expected_output "$root/$data/nca/$name/connectivity.md" >> "$work/nca.log" 2>&1
  )
}

log "network-config-analyzer: exact connectivity of every flavour (stand-ins in $data/stand-ins: controllers, scrapers, kube-dns, impostors)"
for overlay in "${overlays[@]}"; do
  : > "$work/nca.log"
  "${checks[@]}" nca-input "$work/rendered/$overlay.yaml" "$data/stand-ins" "$work/nca/$overlay" \
    "$data/nca/$overlay/stand-ins"
  if ! nca_check "$overlay" "$work/nca/$overlay"; then
    cat "$work/nca.log"
    die "$overlay: the NetworkPolicies do not give the required connectivity (see above)"
  fi
  echo "  $overlay: permits, forbids and connectivity map as required"
done

log "the connectivity nca computes for the $default_overlay overlay (stand-ins for the controllers and kube-dns)"
(cd "$work/nca" && "$nca" --connectivity "$default_overlay" -r "$default_overlay" \
  --output_endpoints deployments -o md 2>/dev/null | grep '^|')

# caught OVERLAY MUTATION...: each mutation of OVERLAY's analysed policies must fail its checks.
caught() {
  local overlay=$1 mutation mutated
  for mutation in "${@:2}"; do
    mutated=$work/mutated/$mutation/$overlay
    mkdir -p "$mutated"
    cp "$work/nca/$overlay/"*.yaml "$mutated/"
    "${checks[@]}" loosen "$mutation" "$mutated/rendered.yaml"
    : > "$work/nca.log"
    if nca_check "$overlay" "$mutated"; then
      die "mutation $mutation of $overlay went unnoticed by the network-config-analyzer checks"
    fi
    echo "  $overlay, $mutation: caught"
  done
}

log "the analysis notices loosened policies (each mutation of the $default_overlay overlay must fail it)"
caught "$default_overlay" controller-from-any-namespace private-range-opened all-ports-to-public \
  b-default-deny-removed

log "the analysis notices a loosened ACME solver policy, a gateway peer from any namespace and loosened scraper policies"
caught f5-nginx-ingress-https acme-solver-from-any-namespace
caught app-routing controller-from-any-namespace
caught f5-nginx-ingress-prometheus-operator scraper-from-any-namespace scraper-on-every-port
caught f5-nginx-ingress-azure-monitor scraper-from-any-kube-system-pod

log "manifests: all checks passed"
