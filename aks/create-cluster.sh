#!/usr/bin/env bash
# Creates what the services need on Azure, idempotently: a resource group, a container registry and
# an AKS cluster (newest GA Kubernetes, Microsoft Entra ID + Azure RBAC, no local accounts, Azure
# CNI Overlay powered by Cilium enforcing NetworkPolicies, managed identity, registry attached,
# three availability zones, cluster autoscaler, automatic patch upgrades), then fetches the
# kubectl credentials. What already exists is left unchanged (and checked).
set -euo pipefail
# shellcheck source=aks/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

declare_azure_knobs
knob AKS_LOCATION westeurope "Azure region (one with availability zones)" location
declare_registry_knob
knob AKS_KUBERNETES_VERSION "" "Kubernetes version (minor 1.x or patch 1.x.y), at most the newest minor of manifests/kubernetes-versions, not a preview (unless --allow-preview); empty: the newest GA, non-preview version up to that minor" kubernetes_version
knob AKS_TIER standard "AKS pricing tier: standard (financially backed API server SLA), free, or premium (Standard plus long-term support; needed for a version AKS offers under LTS only); any case" choice free standard premium
knob AKS_ZONES "1 2 3" "availability zones for the node pools (space-separated, from 1 2 3), or none in a region without zones" zones
knob AKS_SYSTEM_POOL_VM_SIZE Standard_D2ds_v5 "VM size of the system node pool (cluster add-ons only)" vm_size
knob AKS_SYSTEM_POOL_MIN 3 "system pool autoscaler minimum (one node per zone; a system pool needs one)" int 1 1000
knob AKS_SYSTEM_POOL_MAX 5 "system pool autoscaler maximum (at least the minimum)" int 1 1000
knob AKS_APPS_POOL_VM_SIZE Standard_D2ds_v5 "VM size of the apps node pool (ingress controller and services)" vm_size
knob AKS_APPS_POOL_MIN 3 "apps pool autoscaler minimum (one node per zone)" int 0 1000
knob AKS_APPS_POOL_MAX 6 "apps pool autoscaler maximum (at least the minimum, and 1)" int 1 1000
knob AKS_POD_CIDR 192.168.0.0/16 "pod address range of Azure CNI Overlay (private, outside the VNet)" cidr
knob AKS_AUTO_UPGRADE_CHANNEL patch "cluster auto-upgrade channel (patch: latest patch of the current minor)" choice rapid stable patch node-image none
knob AKS_NODE_OS_UPGRADE_CHANNEL NodeImage "node OS upgrade channel" choice NodeImage None Unmanaged SecurityPatch
knob AKS_ADMIN_GROUP_IDS "" "comma-separated Microsoft Entra group object IDs made cluster-admin (Kubernetes RBAC); optional" guids
knob AKS_CLUSTER_ADMIN_ASSIGNEE "" "object ID given the Azure RBAC role 'Azure Kubernetes Service RBAC Cluster Admin' on the cluster; empty: the signed-in user; 'none': skip" guid_or_none
knob AKS_ACR_SKU Standard "container registry SKU" choice Basic Standard Premium

print_usage() {
  usage "aks/create-cluster.sh [--dry-run] [--allow-preview] [--disable-localdns] [-h]" \
"Creates the resource group, the container registry and the AKS cluster, and fetches the kubectl
credentials. Re-running changes nothing: each resource is looked up first and only created when
missing; an existing cluster is checked for the settings isolation depends on.
  --dry-run           print every command that would change something instead of running it;
                      read-only queries (az ... show/list/exists, az aks get-versions) still
                      run, so az must be logged in and the plan shows what really exists
  --allow-preview     accept an AKS_KUBERNETES_VERSION that AKS offers as a preview only (no
                      SLA, not for production); refused without it
  --disable-localdns  on an existing cluster, give every node pool where LocalDNS is on, or may
                      turn on, the profile aks/localdns.json (Disabled); this REIMAGES those
                      pools' nodes (workloads are evicted); without it such pools are reported
  -h                  this help"
}

parse_common_args "$@"
allow_preview=false disable_localdns=false
for arg in "${ARGS[@]}"; do
  case $arg in
    --allow-preview) allow_preview=true ;;
    --disable-localdns) disable_localdns=true ;;
    *) die "unexpected argument: $arg (see -h)" ;;
  esac
done
# The autoscaler's bounds of each pool (az aks create and nodepool add refuse min > max only once
# signed in, after the resource group, the registry and the image copies exist).
for pool in SYSTEM APPS; do
  min=AKS_${pool}_POOL_MIN max=AKS_${pool}_POOL_MAX
  [ "${!min}" -le "${!max}" ] || die "$min (${!min}) must not exceed $max (${!max}) (nothing was run)"
done
require_tools az jq kubectl kubelogin
announce_mode
require_az_version

step "Subscription"
account=$(query az account show --output json) || die "az is not logged in (run: az login)"
note "subscription $(jq -r '.name + " (" + .id + ")"' <<<"$account"), signed in as $(jq -r '.user.name + " (" + .user.type + ")"' <<<"$account")"
resolve_acr_name
show_settings

step "Resource group $AKS_RESOURCE_GROUP"
group_exists=$(query az group exists --name "$AKS_RESOURCE_GROUP")
if [ "$group_exists" = true ]; then
  note "exists, unchanged"
else
  # The tag lets aks/destroy.sh delete the whole group only when this script created it.
  run az group create --name "$AKS_RESOURCE_GROUP" --location "$AKS_LOCATION" \
    --tags project=btc-price created-by=aks/create-cluster.sh
fi

step "Container registry $AKS_ACR_NAME"
acr_id=""
if [ "$group_exists" = true ]; then
  acr_id=$(query az acr list --resource-group "$AKS_RESOURCE_GROUP" \
    --query "[?name=='$AKS_ACR_NAME'].id" --output tsv)
fi
if [ -n "$acr_id" ]; then
  note "exists, unchanged"
else
  available=$(query az acr check-name --name "$AKS_ACR_NAME" --query nameAvailable --output tsv)
  [ "$available" = true ] || die "registry name $AKS_ACR_NAME is taken (by another subscription or resource group); set AKS_ACR_NAME"
  # No admin user: the cluster pulls with its kubelet identity (AcrPull, --attach-acr), the
  # pipeline pushes with its Entra identity.
  run az acr create --resource-group "$AKS_RESOURCE_GROUP" --name "$AKS_ACR_NAME" \
    --location "$AKS_LOCATION" --sku "$AKS_ACR_SKU" --admin-enabled false \
    --tags project=btc-price
fi

step "Third-party images copied into the registry (aks/third-party-images.txt)"
# One import each, here, from registries without Docker Hub's anonymous pull limit (10 per hour
# per address, docs.docker.com/docker-hub/usage, shared by ACR Tasks agents and the cluster's
# outbound IP); builds, pods and the isolation probe then pull only from this registry.
ensure_third_party_images

step "AKS cluster $AKS_CLUSTER_NAME"
cluster_id=""
if [ "$group_exists" = true ]; then
  cluster_id=$(query az aks list --resource-group "$AKS_RESOURCE_GROUP" \
    --query "[?name=='$AKS_CLUSTER_NAME'].id" --output tsv)
fi

zone_args=()
[ "$AKS_ZONES" = none ] || read -ra zone_args <<<"--zones $AKS_ZONES"

# The newest minor the manifests are validated for caps the version: a newer minor can change what
# the NetworkPolicies depend on (from 1.37 AKS turns LocalDNS on by default, see below).
max_minor=$(validated_minors | tail -n 1)
[[ $max_minor =~ ^1\.[0-9]+$ ]] || die "manifests/kubernetes-versions must end with a minor version like 1.37 (got '$max_minor')"

if [ -z "$cluster_id" ]; then
  versions=$(query az aks get-versions --location "$AKS_LOCATION" --output json)
  support_plan_args=()
  if [ -n "$AKS_KUBERNETES_VERSION" ]; then
    ! minor_above "$AKS_KUBERNETES_VERSION" "$max_minor" \
      || die "Kubernetes $AKS_KUBERNETES_VERSION is newer than $max_minor, the newest minor the manifests are validated for; to go further, add the minor to manifests/kubernetes-versions (tests/suites/manifests.sh then validates it)"
    version_available "$AKS_KUBERNETES_VERSION" <<<"$versions" \
      || die "Kubernetes $AKS_KUBERNETES_VERSION is not offered in $AKS_LOCATION (az aks get-versions)"
    # A preview minor has no SLA and is not supported for production
    # (learn.microsoft.com/azure/aks/supported-kubernetes-versions): only on purpose.
    if version_preview "$AKS_KUBERNETES_VERSION" <<<"$versions"; then
      [ "$allow_preview" = true ] \
        || die "Kubernetes $(minor_of "$AKS_KUBERNETES_VERSION") is a preview in $AKS_LOCATION (az aks get-versions: isPreview): previews have no SLA and are not for production; choose a generally available version (or leave AKS_KUBERNETES_VERSION empty), or pass --allow-preview"
      note "WARNING: Kubernetes $(minor_of "$AKS_KUBERNETES_VERSION") is a preview (--allow-preview): no SLA, not for production"
    fi
    kubernetes_version=$AKS_KUBERNETES_VERSION
    note "Kubernetes $kubernetes_version (AKS_KUBERNETES_VERSION)"
    # A minor past its community support is offered under AKS long-term support only, which needs
    # the Premium tier and the LTS plan (learn.microsoft.com/azure/aks/long-term-support).
    if ! community_supported "$kubernetes_version" <<<"$versions"; then
      [ "$AKS_TIER" = premium ] \
        || die "Kubernetes $(minor_of "$kubernetes_version") is offered in $AKS_LOCATION under AKS long-term support only (az aks get-versions: supportPlan), which needs the Premium tier: set AKS_TIER=premium, or choose a newer version"
      support_plan_args=(--k8s-support-plan AKSLongTermSupport)
      note "long-term support plan (Premium tier): Kubernetes $(minor_of "$kubernetes_version") is past its community support"
    fi
  else
    kubernetes_version=$(newest_ga_version "$max_minor" <<<"$versions")
    [ -n "$kubernetes_version" ] || die "az aks get-versions lists no generally available version up to $max_minor in $AKS_LOCATION"
    note "Kubernetes $kubernetes_version: the newest GA (non-preview, KubernetesOfficial) version in $AKS_LOCATION up to $max_minor (manifests/kubernetes-versions)"
  fi

  admin_group_args=()
  if [ -n "$AKS_ADMIN_GROUP_IDS" ]; then
    admin_group_args=(--aad-admin-group-object-ids "$AKS_ADMIN_GROUP_IDS")
  fi

  # Network: Azure CNI Overlay with the Cilium data plane, which is also the NetworkPolicy engine
  # (learn.microsoft.com/azure/aks/azure-cni-powered-by-cilium). AKS enforces no policy unless an
  # engine is chosen; Azure NPM is being retired and Calico is the alternative.
  # Identity: managed identity; Entra ID authentication with Azure RBAC authorization
  # (--enable-aad --enable-azure-rbac) and no local accounts, so every kubectl call is an Entra
  # identity that Azure RBAC or Kubernetes RBAC must allow (no static admin certificate).
  # The system pool runs only critical add-ons (CriticalAddonsOnly taint); workloads go to "apps".
  # LocalDNS is decided per node pool (az aks nodepool add/update --localdns-config; az aks create
  # has no such argument), below.
  run az aks create \
    --resource-group "$AKS_RESOURCE_GROUP" \
    --name "$AKS_CLUSTER_NAME" \
    --location "$AKS_LOCATION" \
    --kubernetes-version "$kubernetes_version" \
    --tier "$AKS_TIER" \
    "${support_plan_args[@]}" \
    --enable-managed-identity \
    --enable-aad \
    --enable-azure-rbac \
    "${admin_group_args[@]}" \
    --disable-local-accounts \
    --network-plugin azure \
    --network-plugin-mode overlay \
    --network-dataplane cilium \
    --network-policy cilium \
    --pod-cidr "$AKS_POD_CIDR" \
    --nodepool-name system \
    --node-vm-size "$AKS_SYSTEM_POOL_VM_SIZE" \
    --nodepool-taints CriticalAddonsOnly=true:NoSchedule \
    "${zone_args[@]}" \
    --enable-cluster-autoscaler \
    --min-count "$AKS_SYSTEM_POOL_MIN" \
    --max-count "$AKS_SYSTEM_POOL_MAX" \
    --node-count "$AKS_SYSTEM_POOL_MIN" \
    --auto-upgrade-channel "$AKS_AUTO_UPGRADE_CHANNEL" \
    --node-os-upgrade-channel "$AKS_NODE_OS_UPGRADE_CHANNEL" \
    --attach-acr "$AKS_ACR_NAME" \
    --no-ssh-key \
    --tags project=btc-price
  pools='[]'
else
  note "exists; checking the settings the isolation and access model depend on (nothing is changed)"
  settings=$(query az aks show --resource-group "$AKS_RESOURCE_GROUP" --name "$AKS_CLUSTER_NAME" \
    --query "{version: currentKubernetesVersion, policy: networkProfile.networkPolicy, dataplane: networkProfile.networkDataplane, azureRbac: aadProfile.enableAzureRbac, disableLocalAccounts: disableLocalAccounts, upgrade: autoUpgradeProfile.upgradeChannel}" \
    --output json)
  note "found: $(jq -c . <<<"$settings")"
  policy=$(jq -r '.policy // "none"' <<<"$settings")
  case $policy in
    cilium | calico | azure) ;;
    *) die "cluster $AKS_CLUSTER_NAME enforces no NetworkPolicy (networkPolicy: $policy): A and B would not be isolated; create a new cluster" ;;
  esac
  [ "$(jq -r '.azureRbac' <<<"$settings")" = true ] || note "WARNING: Azure RBAC is not enabled on this cluster"
  ! minor_above "$(jq -r '.version' <<<"$settings")" "$max_minor" \
    || note "WARNING: the cluster runs Kubernetes $(jq -r '.version' <<<"$settings"), newer than $max_minor, the newest minor the manifests are validated for (manifests/kubernetes-versions)"
  [ "$(jq -r '.disableLocalAccounts' <<<"$settings")" = true ] || note "WARNING: local accounts are enabled on this cluster"
  pools=$(query az aks nodepool list --resource-group "$AKS_RESOURCE_GROUP" \
    --cluster-name "$AKS_CLUSTER_NAME" --query "[].{name: name, localDns: localDnsProfile.mode}" --output json)
fi

# LocalDNS, decided for every node pool: off. With LocalDNS on, pods resolve through a DNS proxy on
# the node at 169.254.10.10 and 169.254.10.11 (learn.microsoft.com/azure/aks/localdns-custom),
# which service-a-egress does not allow (it allows kube-dns only, and excepts 169.254.0.0/16): the
# poller could no longer resolve the exchanges. On Azure CNI powered by Cilium 1.17 and later the
# same page allows it with a CiliumNetworkPolicy to the "host" entity, which the plain
# NetworkPolicies of this project (and their offline analysis) cannot express.
# What each mode means (that page, revision of 2026-07-06; AKS release notes of 2026-05-29):
#   Disabled   off.
#   no profile AKS turns LocalDNS on by itself for pools on Kubernetes 1.36 or later, except in
#              clusters with Cilium or Calico network policies (this project's): off here.
#   Preferred  the configuration is validated but LocalDNS is not installed, today; "a future
#              Kubernetes version" turns it on.
#   Required   on.
# Applying a profile reimages the pool's nodes. A new cluster's pools get aks/localdns.json
# ({"mode": "Disabled"}) before any workload runs: the system pool right after creation (az aks
# create has no --localdns-config), apps when it is added. On an existing cluster a reimage evicts
# the workloads, so it is done only with --disable-localdns; without it, the pools it would change
# are reported.
step "LocalDNS off on every node pool (aks/localdns.json)"
localdns_pools=() localdns_why=()
if [ -z "$cluster_id" ]; then
  localdns_pools=(system) localdns_why=("new, no workload yet")
else
  while read -r pool mode; do
    case $mode in
      Disabled) note "$pool: Disabled, unchanged" ;;
      null)
        if [[ $policy == cilium || $policy == calico ]]; then
          note "$pool: no profile, unchanged: AKS does not turn LocalDNS on in clusters with $policy network policies"
        else
          localdns_pools+=("$pool") localdns_why+=("no profile: AKS turns LocalDNS on for pools on Kubernetes 1.36 or later in clusters with $policy network policies")
        fi ;;
      Preferred) localdns_pools+=("$pool") localdns_why+=("Preferred: not installed today, turned on by a future Kubernetes version") ;;
      *) localdns_pools+=("$pool") localdns_why+=("$mode: LocalDNS is on, so the poller cannot resolve the exchanges") ;;
    esac
  done < <(jq -r '.[] | "\(.name) \(.localDns)"' <<<"$pools")
fi
for index in "${!localdns_pools[@]}"; do
  pool=${localdns_pools[$index]}
  if [ -n "$cluster_id" ] && [ "$disable_localdns" != true ]; then
    note "WARNING: $pool: ${localdns_why[$index]}; run again with --disable-localdns to give it aks/localdns.json, which reimages the pool's nodes"
    continue
  fi
  note "$pool: ${localdns_why[$index]}: the profile aks/localdns.json (Disabled), which reimages the pool's nodes"
  run az aks nodepool update \
    --resource-group "$AKS_RESOURCE_GROUP" \
    --cluster-name "$AKS_CLUSTER_NAME" \
    --name "$pool" \
    --localdns-config aks/localdns.json
done
jq -e 'any(.[]; .name == "apps")' <<<"$pools" >/dev/null || note "apps: given the profile when it is added (next step)"

step "Node pool apps (workloads)"
if jq -e 'any(.[]; .name == "apps")' <<<"$pools" >/dev/null; then
  note "exists, unchanged"
else
  run az aks nodepool add \
    --resource-group "$AKS_RESOURCE_GROUP" \
    --cluster-name "$AKS_CLUSTER_NAME" \
    --name apps \
    --mode User \
    --node-vm-size "$AKS_APPS_POOL_VM_SIZE" \
    --localdns-config aks/localdns.json \
    "${zone_args[@]}" \
    --enable-cluster-autoscaler \
    --min-count "$AKS_APPS_POOL_MIN" \
    --max-count "$AKS_APPS_POOL_MAX" \
    --node-count "$AKS_APPS_POOL_MIN"
fi

step "Registry access for the cluster (AcrPull for the kubelet identity)"
if [ -z "$cluster_id" ]; then
  note "granted by --attach-acr at creation"
else
  kubelet_id=$(query az aks show --resource-group "$AKS_RESOURCE_GROUP" --name "$AKS_CLUSTER_NAME" \
    --query identityProfile.kubeletidentity.objectId --output tsv)
  acr_scope=$(query az acr show --resource-group "$AKS_RESOURCE_GROUP" --name "$AKS_ACR_NAME" --query id --output tsv)
  granted=$(query az role assignment list --assignee "$kubelet_id" --role AcrPull --scope "$acr_scope" \
    --query "[].id" --output tsv)
  if [ -n "$granted" ]; then
    note "AcrPull already granted, unchanged"
  else
    run az aks update --resource-group "$AKS_RESOURCE_GROUP" --name "$AKS_CLUSTER_NAME" --attach-acr "$AKS_ACR_NAME"
  fi
fi

step "Cluster admin (Azure RBAC)"
if [ "$AKS_CLUSTER_ADMIN_ASSIGNEE" = none ]; then
  note "skipped (AKS_CLUSTER_ADMIN_ASSIGNEE=none)"
else
  assignee=$AKS_CLUSTER_ADMIN_ASSIGNEE
  if [ -z "$assignee" ]; then
    [ "$(jq -r '.user.type' <<<"$account")" = user ] \
      || die "signed in as a service principal: set AKS_CLUSTER_ADMIN_ASSIGNEE to an object ID (or none)"
    assignee=$(query az ad signed-in-user show --query id --output tsv)
  fi
  cluster_scope="/subscriptions/$(jq -r .id <<<"$account")/resourceGroups/$AKS_RESOURCE_GROUP/providers/Microsoft.ContainerService/managedClusters/$AKS_CLUSTER_NAME"
  granted=""
  if [ -n "$cluster_id" ]; then
    granted=$(query az role assignment list --assignee "$assignee" \
      --role "Azure Kubernetes Service RBAC Cluster Admin" --scope "$cluster_scope" --query "[].id" --output tsv)
  fi
  if [ -n "$granted" ]; then
    note "already granted, unchanged"
  else
    # Installing the ingress controller and the first kubectl apply (namespaces, RBAC) need a
    # cluster admin; with local accounts disabled that is an Entra identity with this role.
    run az role assignment create --assignee "$assignee" \
      --role "Azure Kubernetes Service RBAC Cluster Admin" --scope "$cluster_scope"
  fi
fi

step "kubectl credentials"
AKS_KUBE_CONTEXT=$AKS_CLUSTER_NAME
ensure_kube_context
if [ "$KUBE_READY" = true ]; then
  kq get nodes --output wide >&3 || note "the nodes are not readable yet (a new role assignment can take a few minutes)"
fi

note "next: aks/install-ingress.sh, then aks/deploy.sh (aks/README.md)"
