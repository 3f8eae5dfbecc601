#!/usr/bin/env bash
# Removes what aks/kind/create-cluster.sh made: the kind cluster (and its kubectl context), the
# local registry and cloud-provider-kind. Nothing else on the machine is touched.
set -euo pipefail
# shellcheck source=aks/lib.sh
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"

knob AKS_CLUSTER_NAME btc-price-e2e "kind cluster name"

print_usage() {
  usage "aks/kind/delete-cluster.sh [--dry-run] [-h]" \
"Deletes the kind cluster of the end-to-end job, its local registry and cloud-provider-kind.
  --dry-run  print the commands that would delete something instead of running them
  -h         this help"
}

parse_common_args "$@"
[ ${#ARGS[@]} -eq 0 ] || die "unexpected arguments: ${ARGS[*]} (see -h)"
require_tools docker kind
announce_mode
show_settings

step "kind cluster $AKS_CLUSTER_NAME"
if query kind get clusters | grep -qxF "$AKS_CLUSTER_NAME"; then
  run kind delete cluster --name "$AKS_CLUSTER_NAME"
else
  note "no such cluster"
fi

step "Containers kind-registry and cloud-provider-kind"
for container in kind-registry cloud-provider-kind; do
  if query docker inspect --format '{{.Name}}' "$container" >/dev/null 2>&1; then
    run docker rm --force "$container"
  else
    note "no container $container"
  fi
done
