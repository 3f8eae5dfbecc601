#!/usr/bin/env bash
# Fills the aks-engine API model (kubernetes.json next to this script) from the environment and
# prints the aks-engine commands that deploy it. aks-engine is retired (archived by Microsoft after
# Kubernetes 1.24, the last version it supports); this is kept because the task asked for it. For
# a supported, current cluster use aks/create-cluster.sh (AKS). Generating and validating the model
# works; deploying it may not: aks-engine downloads node binaries from azureedge.net CDN
# endpoints, which Azure retired with Edgio in January 2025 (aks/README.md).
#
# The committed model holds no secret, key or ID: its ${NAME} placeholders are filled here from
# the environment variable NAME. With "useManagedIdentity": true the cluster needs no service
# principal secret, and aks-engine authenticates with the az login (--auth-method cli).
set -euo pipefail
# shellcheck source=aks/lib.sh
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"

MODEL=aks/aks-engine/kubernetes.json

knob AKS_ENGINE_DNS_PREFIX btc-price-k8s "DNS prefix of the cluster (unique in the region: <prefix>.<region>.cloudapp.azure.com)"
knob AKS_ENGINE_SSH_PUBLIC_KEY_FILE "$HOME/.ssh/id_rsa.pub" "public key installed for azureuser on the VMs (RSA)"
knob AKS_ENGINE_SSH_PUBLIC_KEY "" "the public key itself; empty: read from AKS_ENGINE_SSH_PUBLIC_KEY_FILE"
knob AKS_ENGINE_RESOURCE_GROUP btc-price-engine-rg "resource group for the aks-engine cluster"
knob AKS_LOCATION westeurope "Azure region"
knob AKS_ENGINE_OUTPUT_DIR "${XDG_STATE_HOME:-$HOME/.local/state}/btc-price/aks-engine" "where the filled model and aks-engine's output go (outside the repository: aks-engine writes private keys and an admin kubeconfig there)"

print_usage() {
  usage "aks/aks-engine/generate.sh [--dry-run] [-h]" \
"Writes \$AKS_ENGINE_OUTPUT_DIR/\$AKS_ENGINE_DNS_PREFIX/kubernetes.json: the API model of
$MODEL with its placeholders filled from the environment
(Kubernetes 1.24, RBAC, Azure CNI + Calico network policy), and prints the aks-engine commands
that deploy it. Runs nothing on Azure.
  --dry-run  print the filled model instead of writing it
  -h         this help"
}

parse_common_args "$@"
[ ${#ARGS[@]} -eq 0 ] || die "unexpected arguments: ${ARGS[*]} (see -h)"
require_tools jq

if [ -z "$AKS_ENGINE_SSH_PUBLIC_KEY" ]; then
  [ -r "$AKS_ENGINE_SSH_PUBLIC_KEY_FILE" ] \
    || die "no public key: create one (ssh-keygen -t rsa -b 4096) or set AKS_ENGINE_SSH_PUBLIC_KEY_FILE"
  AKS_ENGINE_SSH_PUBLIC_KEY=$(cat "$AKS_ENGINE_SSH_PUBLIC_KEY_FILE")
fi
# aks-engine's own rules (pkg/api/common: ValidateDNSPrefix), and a public, not a private, key.
[[ $AKS_ENGINE_DNS_PREFIX =~ ^[A-Za-z][A-Za-z0-9-]{1,43}[A-Za-z0-9]$ ]] \
  || die "AKS_ENGINE_DNS_PREFIX '$AKS_ENGINE_DNS_PREFIX': 3-45 letters, digits and -, starting with a letter"
[[ $AKS_ENGINE_SSH_PUBLIC_KEY =~ ^ssh-rsa\ [A-Za-z0-9+/=]+(\ .*)?$ ]] \
  || die "AKS_ENGINE_SSH_PUBLIC_KEY is not an OpenSSH RSA public key (ssh-rsa AAAA...)"
export AKS_ENGINE_DNS_PREFIX AKS_ENGINE_SSH_PUBLIC_KEY

announce_mode
show_settings

step "Fill the API model $MODEL"
# Every string that is exactly ${NAME} becomes the value of environment variable NAME; an unset
# one is an error, and none may remain.
filled=$(jq 'walk(if type == "string" and test("^\\$\\{[A-Z0-9_]+\\}$")
                 then (.[2:-1]) as $name | ($ENV[$name] // error("placeholder " + . + " has no value"))
                 else . end)' "$MODEL")
if grep -qF -- "\${" <<<"$filled"; then die "placeholders left in the filled model"; fi
out=$AKS_ENGINE_OUTPUT_DIR/$AKS_ENGINE_DNS_PREFIX
if [ "$DRY_RUN" = true ]; then
  note "dry run: the model that would be written to $out/kubernetes.json:"
  printf '%s\n' "$filled" >&3
else
  mkdir -p "$out"
  printf '%s\n' "$filled" >"$out/kubernetes.json"
  note "wrote $out/kubernetes.json"
fi

step "Deploy it with aks-engine (not run by this script)"
note "WARNING: aks-engine is retired, and its nodes download Kubernetes and CNI binaries from azureedge.net CDN endpoints that Azure retired with Edgio on 15 January 2025: generating and validating the model works, a deployment may fail while provisioning nodes (aks/README.md)"
note "with the last Azure/aks-engine release (its newest Kubernetes is 1.24), logged in with az; in one step:"
show_command ' ' aks-engine deploy --subscription-id '<subscription ID>' --auth-method cli \
  --location "$AKS_LOCATION" --resource-group "$AKS_ENGINE_RESOURCE_GROUP" \
  --api-model "$out/kubernetes.json" --output-directory "$out/deploy"
note "or generate the ARM template first, review it, and deploy it with az:"
show_command ' ' aks-engine generate --api-model "$out/kubernetes.json" --output-directory "$out/arm"
show_command ' ' az group create --name "$AKS_ENGINE_RESOURCE_GROUP" --location "$AKS_LOCATION"
show_command ' ' az deployment group create --resource-group "$AKS_ENGINE_RESOURCE_GROUP" \
  --template-file "$out/arm/azuredeploy.json" --parameters "@$out/arm/azuredeploy.parameters.json"
note "kubeconfig afterwards: $out/deploy/kubeconfig/kubeconfig.$AKS_LOCATION.json (or .../arm/kubeconfig/...)"
note "the workloads of this repository need Kubernetes >= 1.30 (see aks/README.md, aks-engine): use AKS"
