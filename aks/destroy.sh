#!/usr/bin/env bash
# Removes what aks/create-cluster.sh created: the AKS cluster (with its node resource group, load
# balancer and public IPs, and the role assignments scoped to it), the container registry, the
# resource group when create-cluster.sh created it, and the kubectl context. Asks for confirmation
# unless --yes.
set -euo pipefail
# shellcheck source=aks/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

declare_azure_knobs
declare_registry_knob

print_usage() {
  usage "aks/destroy.sh [--yes] [--dry-run] [-h]" \
"Deletes the cluster, the registry and (if aks/create-cluster.sh created it, tag created-by) the
resource group, and removes the cluster's kubectl context. A resource group that existed before
is kept, with anything else in it.
  --yes      do not ask; without it the resource group's name must be typed to confirm
  --dry-run  print the commands that would delete something instead of running them; read-only
             queries still run
  -h         this help"
}

parse_common_args "$@"
assume_yes=false
for arg in "${ARGS[@]}"; do
  case $arg in
    --yes | -y) assume_yes=true ;;
    *) die "unexpected argument: $arg (see -h)" ;;
  esac
done
require_tools az jq kubectl
announce_mode
require_az_version

step "What exists"
resolve_acr_name
show_settings
if [ "$(query az group exists --name "$AKS_RESOURCE_GROUP")" != true ]; then
  note "resource group $AKS_RESOURCE_GROUP does not exist: nothing to delete on Azure"
  group_exists=false
else
  group_exists=true
  group=$(query az group show --name "$AKS_RESOURCE_GROUP" --output json)
  resources=$(query az resource list --resource-group "$AKS_RESOURCE_GROUP" \
    --query "[].{name: name, type: type}" --output json)
  note "resources in $AKS_RESOURCE_GROUP:"
  jq -r '.[] | "#   \(.type) \(.name)"' <<<"$resources" >&3
  created_here=$(jq -r '.tags["created-by"] // ""' <<<"$group")
  has_cluster=$(jq -r --arg n "$AKS_CLUSTER_NAME" 'any(.[]; .type == "Microsoft.ContainerService/managedClusters" and .name == $n)' <<<"$resources")
  has_registry=$(jq -r --arg n "$AKS_ACR_NAME" 'any(.[]; .type == "Microsoft.ContainerRegistry/registries" and .name == $n)' <<<"$resources")
fi
contexts=$(query kubectl config get-contexts --output name) || contexts=""
has_context=false
if grep -qxF "$AKS_CLUSTER_NAME" <<<"$contexts"; then has_context=true; fi

if [ "$group_exists" = false ] && [ "$has_context" = false ]; then
  note "nothing to delete"
  exit 0
fi

if [ "$DRY_RUN" != true ] && [ "$assume_yes" != true ]; then
  printf 'This deletes cluster %s and registry %s in resource group %s (and the group if create-cluster.sh created it).\nType the resource group name to confirm: ' \
    "$AKS_CLUSTER_NAME" "$AKS_ACR_NAME" "$AKS_RESOURCE_GROUP" >&3
  read -r answer || answer=""
  [ "$answer" = "$AKS_RESOURCE_GROUP" ] || die "not confirmed; nothing deleted"
fi

if [ "$group_exists" = true ]; then
  if [ "$created_here" = aks/create-cluster.sh ]; then
    step "Delete resource group $AKS_RESOURCE_GROUP (created by aks/create-cluster.sh)"
    run az group delete --name "$AKS_RESOURCE_GROUP" --yes
  else
    step "Delete cluster and registry (resource group $AKS_RESOURCE_GROUP existed before; kept)"
    if [ "$has_cluster" = true ]; then
      run az aks delete --resource-group "$AKS_RESOURCE_GROUP" --name "$AKS_CLUSTER_NAME" --yes
    else
      note "no cluster $AKS_CLUSTER_NAME"
    fi
    if [ "$has_registry" = true ]; then
      run az acr delete --resource-group "$AKS_RESOURCE_GROUP" --name "$AKS_ACR_NAME" --yes
    else
      note "no registry $AKS_ACR_NAME"
    fi
  fi
fi

step "kubectl context $AKS_CLUSTER_NAME"
if [ "$has_context" = true ]; then
  # az aks get-credentials wrote a context and a cluster entry named after the cluster, and a user
  # entry the context names.
  user=$(query kubectl config view --output "jsonpath={.contexts[?(@.name==\"$AKS_CLUSTER_NAME\")].context.user}")
  run kubectl config delete-context "$AKS_CLUSTER_NAME"
  run kubectl config delete-cluster "$AKS_CLUSTER_NAME"
  if [ -n "$user" ]; then run kubectl config delete-user "$user"; fi
else
  note "no such context"
fi
note "done"
