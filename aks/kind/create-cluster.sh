#!/usr/bin/env bash
# The cluster of the end-to-end job, on one machine with Docker: a kind cluster with Cilium
# enforcing NetworkPolicies, a local registry the nodes pull from as localhost:5001, LoadBalancer
# addresses from cloud-provider-kind, and the third-party images copied into that registry. Then
# aks/install-ingress.sh and aks/deploy.sh (AKS_PLATFORM=kind) install the same controller and
# deploy the same overlay, smoke tests and isolation probes as on AKS. Re-running changes nothing
# that already exists.
set -euo pipefail
# shellcheck source=aks/lib.sh
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"

export AKS_PLATFORM=kind
knob AKS_CLUSTER_NAME btc-price-e2e "kind cluster name (kubectl context kind-<name>)"
# The node image and Cilium go together: Cilium 1.19 is e2e tested on Kubernetes 1.32 to 1.35
# (docs.cilium.io, Kubernetes Compatibility, at v1.19.3; 1.18 stopped at 1.33), so the cluster runs
# 1.35, a minor of manifests/kubernetes-versions. The image is kind's default for 1.35.1
# (pkg/apis/config/defaults/image.go of kubernetes-sigs/kind, commit ec6b5bd7, 2026-02-13).
knob AKS_KIND_NODE_IMAGE "kindest/node:v1.35.1@sha256:05d7bcdefbda08b4e038f644c4df690cdac3fba8b06f8289f30e10026720a1ab" "node image (Kubernetes version) of the kind cluster; keep its minor within Cilium's tested Kubernetes versions"
knob AKS_CILIUM_CHART_VERSION 1.19.3 "chart version of Cilium (https://helm.cilium.io), the CNI that enforces the NetworkPolicies"
# cloud-provider-kind by the digest registry.k8s.io's image promoter records for v0.11.1
# (kubernetes/k8s.io, registry.k8s.io/images/k8s-staging-cloud-provider-kind/images.yaml, commit
# 2e3bba2e).
knob AKS_CLOUD_PROVIDER_KIND_IMAGE registry.k8s.io/cloud-provider-kind/cloud-controller-manager:v0.11.1@sha256:40e18b9cd9c798cce40d39ff5c099a4f16a36c268d8e1dda469d73955a35e403 "cloud-provider-kind, which gives LoadBalancer Services an address reachable from the host"
knob AKS_NODES_TIMEOUT 5m "how long to wait for the nodes to be Ready once Cilium runs"
AKS_KUBE_CONTEXT=kind-$AKS_CLUSTER_NAME
REGISTRY_CONTAINER=kind-registry
# The local registry by the digest Docker's repo-info records for registry:3
# (repos/registry/remote/3.md, commit 38feaf4c; the index, every platform).
REGISTRY_IMAGE=registry:3@sha256:849b7d29920d060df8091770ede2279c07924ecd29e2a4c029ee0b5ea2ea542b
CILIUM_REPO=https://helm.cilium.io

print_usage() {
  usage "aks/kind/create-cluster.sh [--dry-run] [-h]" \
"Creates the kind cluster of the end-to-end job (aks/kind/cluster.yaml: no default CNI, Cilium
instead), its local registry ($KIND_REGISTRY on the host and in the nodes), cloud-provider-kind,
and copies the images of aks/third-party-images.txt into the registry (skopeo). Needs docker,
kind, kubectl, helm, skopeo, curl and jq. Delete it all with aks/kind/delete-cluster.sh.
  --dry-run  print the commands that would change something instead of running them; read-only
             queries (docker inspect, kind get, helm show) still run
  -h         this help"
}

parse_common_args "$@"
[ ${#ARGS[@]} -eq 0 ] || die "unexpected arguments: ${ARGS[*]} (see -h)"
require_tools docker kind kubectl helm skopeo curl jq
announce_mode
show_settings

# running NAME: whether the container NAME runs.
running() { [ "$(query docker inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

step "Chart cilium $AKS_CILIUM_CHART_VERSION is published"
chart_yaml=$(query helm show chart cilium --repo "$CILIUM_REPO" --version "$AKS_CILIUM_CHART_VERSION" 2>&1) \
  || die "chart cilium version $AKS_CILIUM_CHART_VERSION is not published (helm show chart: $(tail -n 1 <<<"$chart_yaml")); set AKS_CILIUM_CHART_VERSION"
note "published: $(sed -n 's/^\(version\|appVersion\): *\(.*\)/\1 \2/p' <<<"$chart_yaml" | paste -sd ' ')"

step "Local registry $REGISTRY_CONTAINER ($KIND_REGISTRY)"
if running "$REGISTRY_CONTAINER"; then
  note "runs, unchanged"
else
  run docker run --detach --restart always --publish "127.0.0.1:${KIND_REGISTRY##*:}:5000" \
    --network bridge --name "$REGISTRY_CONTAINER" "$REGISTRY_IMAGE"
fi

step "kind cluster $AKS_CLUSTER_NAME (aks/kind/cluster.yaml)"
if query kind get clusters | grep -qxF "$AKS_CLUSTER_NAME"; then
  note "exists, unchanged"
else
  run kind create cluster --name "$AKS_CLUSTER_NAME" --image "$AKS_KIND_NODE_IMAGE" \
    --config aks/kind/cluster.yaml --wait 0s
fi
ensure_kube_context

step "The nodes pull $KIND_REGISTRY from $REGISTRY_CONTAINER"
nodes=$(query kind get nodes --name "$AKS_CLUSTER_NAME") || nodes=""
[ -n "$nodes" ] || nodes=$(printf '%s\n' "$AKS_CLUSTER_NAME-control-plane" "$AKS_CLUSTER_NAME-worker" "$AKS_CLUSTER_NAME-worker2")
hosts_dir=/etc/containerd/certs.d/$KIND_REGISTRY
while read -r node; do
  if [ "$(query docker exec "$node" cat "$hosts_dir/hosts.toml" 2>/dev/null)" = "[host.\"http://$REGISTRY_CONTAINER:5000\"]" ]; then
    note "$node: configured, unchanged"
  else
    run docker exec "$node" mkdir -p "$hosts_dir"
    printf '[host."http://%s:5000"]\n' "$REGISTRY_CONTAINER" | run docker exec -i "$node" cp /dev/stdin "$hosts_dir/hosts.toml"
  fi
done <<<"$nodes"
network=$(query docker inspect --format '{{json .NetworkSettings.Networks.kind}}' "$REGISTRY_CONTAINER" 2>/dev/null) \
  || network=""
if [ -z "$network" ] || [ "$network" = null ]; then
  run docker network connect kind "$REGISTRY_CONTAINER"
else
  note "$REGISTRY_CONTAINER is on the kind network, unchanged"
fi

step "Cilium $AKS_CILIUM_CHART_VERSION (CNI and NetworkPolicy enforcement)"
fingerprint="chart=$AKS_CILIUM_CHART_VERSION"
if release_current cilium kube-system "$fingerprint"; then
  note "installed with this chart version, unchanged"
else
  # Settings of Cilium's kind guide (docs.cilium.io, Getting Started Using Kind): images pulled
  # once, pod addresses from the node's podCIDR.
  run helm --kube-context "$AKS_KUBE_CONTEXT" upgrade cilium cilium --repo "$CILIUM_REPO" \
    --install \
    --version "$AKS_CILIUM_CHART_VERSION" \
    --namespace kube-system \
    --set image.pullPolicy=IfNotPresent \
    --set ipam.mode=kubernetes \
    --description "$fingerprint" \
    --wait
fi
kq wait --for condition=Ready nodes --all --timeout "$AKS_NODES_TIMEOUT" >&3

step "cloud-provider-kind (LoadBalancer addresses)"
if running cloud-provider-kind; then
  note "runs, unchanged"
else
  run docker run --detach --restart always --name cloud-provider-kind --network kind \
    --volume /var/run/docker.sock:/var/run/docker.sock "$AKS_CLOUD_PROVIDER_KIND_IMAGE"
fi

step "Third-party images copied into the registry (aks/third-party-images.txt)"
ensure_third_party_images

note "next: AKS_PLATFORM=kind AKS_CLUSTER_NAME=$AKS_CLUSTER_NAME aks/install-ingress.sh, then aks/deploy.sh"
