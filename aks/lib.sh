# shellcheck shell=bash
# Shared helpers for the aks/ scripts (sourced, never run).
#
# Every script prints what it does as a runbook on stdout:
#   "== N. title"  a step
#   "+ command"    a command that changes something (Azure, the cluster, or the local kubeconfig):
#                  printed, then run; with --dry-run only printed
#   "? command"    a read-only query (show, list, get): printed and run, also with --dry-run, so that
#                  the plan reflects the real state (what exists, which version is current)
#   "# text"       a note
# Errors go to stderr. Settings are environment variables declared with `knob` (default, help,
# rule; aks/settings.sh).

# The runbook goes to the caller's stdout even from inside $(...) captures.
exec 3>&1

AKS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck disable=SC2034 # used by the scripts that source this file
REPO_ROOT=$(cd "$AKS_DIR/.." && pwd -P)
DRY_RUN=false

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
note() { printf '# %s\n' "$*" >&3; }
step() { STEP_NO=$((${STEP_NO:-0} + 1)); printf '\n== %d. %s\n' "$STEP_NO" "$*" >&3; }

# quote WORD: WORD as the shell would need it typed.
quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@,+%^-]+$ ]]; then
    printf '%s' "$1"
  elif [[ $1 == *\'* && $1 != *[\$\`\"\\\!]* ]]; then
    printf '"%s"' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# show_command PREFIX WORD...: one command, copy-pasteable; a long one gets one option per line.
show_command() {
  local prefix=$1 flat="" wrapped="" word n=0
  shift
  for word in "$@"; do
    n=$((n + 1))
    if [ $n -gt 2 ] && [[ $word == --* ]]; then wrapped+=$' \\\n   '; fi
    flat+=" $(quote "$word")"
    wrapped+=" $(quote "$word")"
  done
  if [ $((${#prefix} + ${#flat})) -le 100 ]; then
    printf '%s%s\n' "$prefix" "$flat" >&3
  else
    printf '%s%s\n' "$prefix" "$wrapped" >&3
  fi
}

# run CMD...: a command that changes something. Printed; run unless --dry-run.
run() {
  show_command '+' "$@"
  if [ "$DRY_RUN" = true ]; then return 0; fi
  "$@"
}

# query CMD...: a read-only command whose output the caller captures. Printed and always run.
query() {
  show_command '?' "$@"
  "$@"
}

# shellcheck source=aks/settings.sh
source "$AKS_DIR/settings.sh"

require_tools() {
  local tool missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]} (see aks/README.md, Prerequisites)"
}

# The Azure CLI the scripts need: az aks nodepool add|update --localdns-config came with 2.80.0, az
# aks update --enable-gateway-api and --enable-app-routing-istio with 2.86.0
# (learn.microsoft.com/azure/aks/localdns-custom, app-routing-gateway-api); the parsers of 2.79.0
# and 2.85.0 refuse them, so an older az would stop half-way, after the cluster was created.
AZ_MIN_VERSION=2.86.0

# version_at_least VERSION MINIMUM: dotted versions compared numerically (2.100.0 > 2.86.0).
version_at_least() {
  local IFS=. index have want
  read -ra have <<<"$1"
  read -ra want <<<"$2"
  for index in 0 1 2; do
    [[ ${have[index]:-0} =~ ^[0-9]+$ ]] || return 1
    [ "${have[index]:-0}" -eq "${want[index]:-0}" ] || { [ "${have[index]:-0}" -gt "${want[index]:-0}" ]; return; }
  done
}

# require_az_version: stops, before az changes anything, unless az is at least AZ_MIN_VERSION and
# its az aks commands are azure-cli's own: the aks-preview extension replaces them with preview
# implementations, whose arguments are not the ones these scripts are checked against
# (tests/aks/az-cli-arguments.json).
require_az_version() {
  local versions version preview
  versions=$(query az version --output json) || die "az version failed (see aks/README.md, Prerequisites)"
  version=$(jq -r '."azure-cli" // "unknown"' <<<"$versions")
  version_at_least "$version" "$AZ_MIN_VERSION" \
    || die "azure-cli $version is too old: these scripts need $AZ_MIN_VERSION or later (az aks nodepool --localdns-config, az aks update --enable-gateway-api); upgrade it (az upgrade) and run again"
  preview=$(jq -r '.extensions["aks-preview"] // empty' <<<"$versions")
  [ -z "$preview" ] \
    || die "the aks-preview extension $preview is installed: it replaces azure-cli's az aks commands with preview ones, whose arguments these scripts are not checked against; remove it (az extension remove --name aks-preview), or run with AZURE_EXTENSION_DIR set to an empty directory"
  note "azure-cli $version (at least $AZ_MIN_VERSION), no aks-preview extension"
}

# path_from DIR TARGET: TARGET (absolute) as a path relative to DIR, which kustomize needs (it
# refuses absolute resource paths). Both are resolved physically, so symlinks cannot skew the "..".
path_from() {
  local from target up=""
  from=$(cd "$1" && pwd -P)
  target=$(cd "$2" && pwd -P)
  while [ "$from" != / ]; do
    up+="../"
    from=$(dirname "$from")
  done
  printf '%s%s' "$up" "${target#/}"
}

# sha256 FILE: the file's SHA-256 (GNU coreutils or macOS shasum).
sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1
}

announce_mode() {
  if [ "$DRY_RUN" = true ]; then
    note "DRY RUN: commands marked + are printed, not run; read-only queries marked ? are run."
  fi
}


# registry_login_server: where the images are pushed and pulled from: the ACR's login server, or
# the kind cluster's local registry.
registry_login_server() {
  local server
  if on_kind; then
    printf '%s' "$KIND_REGISTRY"
  elif server=$(query az acr show --name "$AKS_ACR_NAME" --query loginServer --output tsv 2>/dev/null); then
    printf '%s' "$server"
  elif [ "$DRY_RUN" = true ]; then
    note "dry run: registry $AKS_ACR_NAME does not exist yet (aks/create-cluster.sh creates it); assuming $AKS_ACR_NAME.azurecr.io"
    printf '%s.azurecr.io' "$AKS_ACR_NAME"
  else
    die "registry $AKS_ACR_NAME not found (run aks/create-cluster.sh, or set AKS_ACR_NAME)"
  fi
}

# resolve_acr_name: the default registry name, derived from the subscription so that every script
# (and every re-run) finds the same registry.
resolve_acr_name() {
  if [ -n "$AKS_ACR_NAME" ]; then return 0; fi
  local subscription
  subscription=$(query az account show --query id --output tsv) || die "az is not logged in (run: az login)"
  subscription=${subscription//-/}
  AKS_ACR_NAME="btcprice${subscription:0:8}"
  note "registry name: $AKS_ACR_NAME (from the subscription ID; set AKS_ACR_NAME to choose another)"
}

# flavour_overlay FLAVOUR: the manifests overlay of a flavour, named like it
# (manifests/overlays/<flavour>), or its HTTPS variant when AKS_HOST is set.
flavour_overlay() {
  case $1 in
    f5-nginx-ingress | ingress-nginx | app-routing) ;;
    *) die "unknown AKS_INGRESS_FLAVOUR '$1' (f5-nginx-ingress, ingress-nginx or app-routing)" ;;
  esac
  if [ -z "${AKS_HOST:-}" ]; then
    echo "$1"
  elif [ "$1" = f5-nginx-ingress ]; then
    echo "$1-https"
  else
    die "HTTPS (AKS_HOST, --host) is built for f5-nginx-ingress only (manifests/components/https)"
  fi
}

# flavour_controller FLAVOUR: where the flavour's data plane runs and the labels its pods carry,
# which the NetworkPolicies admit (manifests/components/<flavour>/networkpolicy-peer.yaml; the
# aks suite compares them): CONTROLLER_NAMESPACE, CONTROLLER_SERVICE (its LoadBalancer Service),
# CONTROLLER_PODS (label selector) and GATEWAY (the Gateway it serves, empty for Ingress flavours).
# The Gateway flavour's data plane exists once the overlay's Gateway is applied (aks/deploy.sh).
# shellcheck disable=SC2034 # set for the scripts that call it
flavour_controller() {
  GATEWAY=""
  case $1 in
    f5-nginx-ingress)
      CONTROLLER_NAMESPACE=nginx-ingress CONTROLLER_SERVICE=nginx-ingress-controller
      CONTROLLER_PODS=app.kubernetes.io/instance=nginx-ingress,app.kubernetes.io/name=nginx-ingress ;;
    ingress-nginx)
      CONTROLLER_NAMESPACE=ingress-nginx CONTROLLER_SERVICE=ingress-nginx-controller
      CONTROLLER_PODS=app.kubernetes.io/component=controller,app.kubernetes.io/instance=ingress-nginx,app.kubernetes.io/name=ingress-nginx ;;
    app-routing)
      # Istio names the Gateway's Deployment and Service <gateway>-<gatewayclass>.
      GATEWAY=btc-price CONTROLLER_NAMESPACE=btc-price-gateway CONTROLLER_SERVICE=btc-price-approuting-istio
      CONTROLLER_PODS=gateway.istio.io/managed=istio.io-gateway-controller,gateway.networking.k8s.io/gateway-name=btc-price ;;
    *) die "unknown AKS_INGRESS_FLAVOUR '$1' (f5-nginx-ingress, ingress-nginx or app-routing)" ;;
  esac
}

# KUBE_READY: whether the context exists, so that kubectl queries can run. In a dry run before the
# credentials were fetched it stays false and cluster queries are skipped (and say so).
KUBE_READY=false

# ensure_kube_context: the context of the cluster, fetched with az aks get-credentials when missing.
# Entra ID clusters need kubelogin; "azurecli" mode reuses the az login, which also works in CI.
ensure_kube_context() {
  local contexts
  contexts=$(query kubectl config get-contexts --output name) || contexts=""
  if grep -qxF "$AKS_KUBE_CONTEXT" <<<"$contexts"; then
    note "kubectl context $AKS_KUBE_CONTEXT exists"
    KUBE_READY=true
    return 0
  fi
  if on_kind; then
    [ "$DRY_RUN" = true ] || die "no kubectl context $AKS_KUBE_CONTEXT: create the kind cluster first (aks/kind/create-cluster.sh)"
    note "dry run: no context $AKS_KUBE_CONTEXT yet (aks/kind/create-cluster.sh creates it), so the cluster queries below are skipped"
    return 0
  fi
  run az aks get-credentials --resource-group "$AKS_RESOURCE_GROUP" --name "$AKS_CLUSTER_NAME" \
    --context "$AKS_KUBE_CONTEXT" --overwrite-existing
  run kubelogin convert-kubeconfig --login azurecli --context "$AKS_KUBE_CONTEXT"
  if [ "$DRY_RUN" = true ]; then
    note "dry run: no credentials fetched, so the cluster queries below are skipped"
  else
    KUBE_READY=true
  fi
}

# kq ARG...: a read-only kubectl query against the cluster; prints nothing when the context is not
# there yet (dry run only).
kq() {
  if [ "$KUBE_READY" != true ]; then
    show_command '? (skipped, no context yet)' kubectl --context "$AKS_KUBE_CONTEXT" "$@"
    return 0
  fi
  query kubectl --context "$AKS_KUBE_CONTEXT" "$@"
}

# kubectl_run ARG...: a kubectl command that changes the cluster.
kubectl_run() { run kubectl --context "$AKS_KUBE_CONTEXT" "$@"; }

# wait_for_rights SECONDS RIGHT...: until `kubectl auth can-i` answers yes to every RIGHT ("verb
# resource" or "verb resource namespace": what the next step does), asking every 10 s and showing
# what is still missing; fails after SECONDS. Specific verbs and resources, not '*' '*': with Azure
# RBAC the webhook answers for the actions a role grants, and a wildcard question depends on how it
# answers wildcards. A dry run asks once and says what a real run would do.
wait_for_rights() {
  local timeout=$1 started=$SECONDS right verb resource namespace answer missing
  shift
  while :; do
    missing=()
    for right in "$@"; do
      read -r verb resource namespace <<<"$right"
      answer=$(kq auth can-i "$verb" "$resource" ${namespace:+--namespace "$namespace"} 2>/dev/null) || answer=no
      [ "$answer" = yes ] || missing+=("$right")
    done
    if [ "$KUBE_READY" != true ]; then
      note "dry run: checked once the credentials exist"
      return 0
    fi
    if [ ${#missing[@]} -eq 0 ]; then
      note "all $# granted (after $((SECONDS - started)) s)"
      return 0
    fi
    if [ "$DRY_RUN" = true ]; then
      note "dry run: not granted yet: $(printf '%s; ' "${missing[@]}")a real run waits up to ${timeout} s for the role assignment to apply"
      return 0
    fi
    [ $((SECONDS - started)) -lt "$timeout" ] \
      || die "this identity still may not $(printf '%s; ' "${missing[@]}")after ${timeout} s: check the role assignment 'Azure Kubernetes Service RBAC Cluster Admin' (aks/create-cluster.sh) or raise AKS_RBAC_TIMEOUT"
    note "not granted yet (the role assignment is propagating): $(printf '%s; ' "${missing[@]}")asking again in 10 s ($((SECONDS - started)) s of ${timeout} s)"
    sleep 10
  done
}

# release_current RELEASE NAMESPACE FINGERPRINT: whether the deployed revision of the release was
# installed with FINGERPRINT (chart version and settings, recorded as its description), so that a
# re-run leaves it alone (helm upgrade would add a revision).
release_current() {
  local history
  [ "$KUBE_READY" = true ] || return 1
  history=$(query helm --kube-context "$AKS_KUBE_CONTEXT" history "$1" --namespace "$2" \
    --max 1 --output json 2>/dev/null) || history="[]"
  [ "$(jq -r 'last | select(.status == "deployed") | .description' <<<"$history")" = "$3" ]
}

# server_minor_version: the cluster's Kubernetes minor version (e.g. 35), empty when unknown.
server_minor_version() {
  local json minor
  json=$(kq version --output json) || json=""
  [ -n "$json" ] || return 0
  minor=$(jq -r '.serverVersion.minor // empty' <<<"$json")
  printf '%s' "${minor//[!0-9]/}"
}

# validated_minors: the Kubernetes minor versions the manifests are validated for, oldest first
# (manifests/kubernetes-versions, the one place for them).
validated_minors() { grep -Ev '^[[:space:]]*(#|$)' "$REPO_ROOT/manifests/kubernetes-versions"; }

# newest_ga_version MAX_MINOR: reads `az aks get-versions --output json` on stdin and prints the
# newest generally available patch version of a minor no newer than MAX_MINOR (e.g. 1.37): minor
# versions marked isPreview are skipped, and so are those whose support plans lack
# KubernetesOfficial (LTS-only versions need the Premium tier). Versions compare numerically
# (1.35.10 > 1.35.9). Shape of the input: values[].{version, isPreview, capabilities.supportPlan[],
# patchVersions{"1.x.y": {upgrades}}} (azure-cli acs/_format.py, flatten_version_table).
newest_ga_version() {
  jq -r --arg max "$1" '
    def numeric: split(".") | map(tonumber);
    [ .values[]
      | select((.isPreview // false) | not)
      | select((.capabilities.supportPlan // ["KubernetesOfficial"]) | any(. == "KubernetesOfficial"))
      | select((.version | numeric) <= ($max | numeric))
      | .patchVersions // {} | keys[] ]
    | sort_by(numeric)
    | last // empty'
}

# community_supported VERSION: whether VERSION's minor is offered under KubernetesOfficial (the
# community support of the Free and Standard tiers) in the `az aks get-versions` JSON on stdin, not
# under AKS long-term support only.
community_supported() {
  jq -e --arg minor "$(minor_of "$1")" \
    'any(.values[]; .version == $minor and ((.capabilities.supportPlan // ["KubernetesOfficial"]) | any(. == "KubernetesOfficial")))' >/dev/null
}

# minor_of VERSION: 1.35 of 1.35.2 (or of 1.35).
minor_of() { cut -d. -f1-2 <<<"$1"; }

# minor_above VERSION MAX_MINOR: whether VERSION's minor is newer than MAX_MINOR.
minor_above() {
  local minor
  minor=$(minor_of "$1")
  [ "${minor%%.*}" -gt "${2%%.*}" ] || { [ "${minor%%.*}" -eq "${2%%.*}" ] && [ "${minor#*.}" -gt "${2#*.}" ]; }
}

# version_available VERSION: whether VERSION (a minor "1.35" or a patch "1.35.2") is offered in
# the `az aks get-versions` JSON on stdin.
version_available() {
  jq -e --arg v "$1" '[.values[] | .version, (.patchVersions // {} | keys[])] | any(. == $v)' >/dev/null
}

# version_preview VERSION: whether VERSION's minor is marked isPreview in the `az aks get-versions`
# JSON on stdin.
version_preview() {
  jq -e --arg minor "$(minor_of "$1")" 'any(.values[]; .version == $minor and .isPreview == true)' >/dev/null
}

# shellcheck source=aks/images.sh
source "$AKS_DIR/images.sh"
# shellcheck source=aks/https.sh
source "$AKS_DIR/https.sh"
# shellcheck source=aks/signing.sh
source "$AKS_DIR/signing.sh"
