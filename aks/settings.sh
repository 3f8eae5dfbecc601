# shellcheck shell=bash
# The scripts' settings (sourced by lib.sh, never run): environment variables declared with
# `knob` (default, help, and the rule its value must follow), the knobs the scripts share, and
# the common arguments. Every rule is checked before the first command runs, so a bad value stops
# a script before it creates anything; values are normalised the way Azure reads them (AKS_TIER
# Premium is premium).

# ---------------------------------------------------------------------------------------------
# knob NAME DEFAULT HELP [RULE ARG...]: declares an environment variable with a default (an empty
# value counts as unset) and the rule its value must follow (rule_RULE, below). usage prints them.
KNOBS=()
declare -A KNOB_RULES=()
knob() {
  local name=$1 default=$2 help=$3
  shift 3
  KNOBS+=("$name")
  KNOB_RULES[$name]="$*"
  printf -v "KNOB_DEFAULT_$name" '%s' "$default"
  printf -v "KNOB_HELP_$name" '%s' "$help"
  if [ -z "${!name:-}" ]; then printf -v "$name" '%s' "$default"; fi
  export "${name?}"
}

# The rules: rule_NAME VALUE ARG... prints VALUE as the scripts use it, or what it must be (and
# fails). An empty value is never checked: it means the knob's default.
rule_int() {
  if [[ $1 =~ ^[0-9]{1,9}$ ]] && [ "$((10#$1))" -ge "$2" ] && [ "$((10#$1))" -le "$3" ]; then
    echo "$((10#$1))"
  else
    echo "a whole number from $2 to $3"
    return 1
  fi
}
# rule_choice VALUE CHOICE...: one of the choices in any case (as az reads them), spelt as listed.
rule_choice() {
  local value=$1 choice
  shift
  for choice in "$@"; do
    if [ "${value,,}" = "${choice,,}" ]; then echo "$choice"; return 0; fi
  done
  echo "one of: $*"
  return 1
}
rule_guid() {
  [[ $1 =~ ^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$ ]] || { echo "an object ID (GUID)"; return 1; }
  echo "$1"
}
rule_guids() {
  local guid
  for guid in ${1//,/ }; do rule_guid "$guid" >/dev/null || { echo "comma-separated object IDs (GUIDs)"; return 1; }; done
  echo "$1"
}
# rule_guid_or_none: an object ID, or none (skip).
rule_guid_or_none() { if [ "$1" = none ]; then echo none; else rule_guid "$1"; fi; }
# Resource names, as Azure's naming rules for each resource type state them
# (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules).
rule_resource_group() {
  [[ $1 =~ ^[-A-Za-z0-9_.()]{1,90}$ && $1 != *. ]] \
    || { echo "1 to 90 letters, digits, underscores, hyphens, periods or parentheses, not ending with a period"; return 1; }
  echo "$1"
}
# The cluster name: az aks create's own check (validate_linux_host_name).
rule_cluster_name() {
  [[ $1 =~ ^[A-Za-z0-9]([-_A-Za-z0-9]{0,61}[A-Za-z0-9])?$ ]] \
    || { echo "1 to 63 letters, digits, hyphens or underscores, starting and ending with a letter or digit"; return 1; }
  echo "$1"
}
# The registry name is also its login server's DNS label, which Azure writes in lower case.
rule_acr_name() {
  [[ $1 =~ ^[a-z0-9]{5,50}$ ]] || { echo "5 to 50 lower-case letters and digits (no hyphen, no underscore)"; return 1; }
  echo "$1"
}
rule_location() { [[ $1 =~ ^[a-z][a-z0-9]*$ ]] || { echo "an Azure region name such as westeurope"; return 1; }; echo "$1"; }
rule_vm_size() { [[ $1 =~ ^(Standard|Basic)_[A-Za-z0-9_]+$ ]] || { echo "a VM size such as Standard_D4ds_v5"; return 1; }; echo "$1"; }
rule_kubernetes_version() {
  [[ $1 =~ ^1\.[0-9]+(\.[0-9]+)?$ ]] || { echo "a minor version 1.x or a patch version 1.x.y"; return 1; }
  echo "$1"
}
rule_cidr() {
  local a b c d n
  IFS=./ read -r a b c d n <<<"$1"
  if [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$ ]] && [ "$((10#$a | 10#$b | 10#$c | 10#$d))" -le 255 ] \
      && [ "$((10#$n))" -le 32 ]; then
    echo "$1"
  else
    echo "an IPv4 range a.b.c.d/n"
    return 1
  fi
}
# rule_zones: availability zones 1, 2 and 3 (space-separated, each once), or none for a region
# without zones.
rule_zones() {
  local zone zones=()
  [ "$1" != none ] || { echo none; return 0; }
  for zone in $1; do
    [[ $zone =~ ^[123]$ && " ${zones[*]} " != *" $zone "* ]] \
      || { echo "zones from 1 2 3 (space-separated, each once), or none"; return 1; }
    zones+=("$zone")
  done
  echo "${zones[*]}"
}
rule_seconds() { rule_int "$1" 0 86400 >/dev/null || { echo "seconds (a whole number)"; return 1; }; echo "$1"; }
rule_minutes() { [[ $1 =~ ^[1-9][0-9]*m$ ]] || { echo "minutes, e.g. 10m"; return 1; }; echo "$1"; }
rule_duration() { [[ $1 =~ ^[1-9][0-9]*(s|m|h)$ ]] || { echo "a duration such as 300s or 5m"; return 1; }; echo "$1"; }
rule_ipv4() {
  rule_cidr "$1/32" >/dev/null || { echo "an IPv4 address"; return 1; }
  echo "$1"
}
# rule_image_tag: what a registry accepts as a tag (the OCI distribution spec's tag grammar).
rule_image_tag() {
  [[ $1 =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || { echo "an image tag (letters, digits, _ . -, at most 128)"; return 1; }
  echo "$1"
}
# rule_github_repository: owner/name as GitHub spells them (an owner of up to 39 letters, digits
# and hyphens; a name of letters, digits, ".", "_" and "-").
rule_github_repository() {
  [[ $1 =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,37}[A-Za-z0-9])?/[A-Za-z0-9._-]{1,100}$ ]] \
    || { echo "a GitHub repository as owner/name"; return 1; }
  echo "$1"
}
# rule_pinned_image: an image by digest (name@sha256:...), which no one can move.
rule_pinned_image() {
  [[ $1 =~ ^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$ ]] || { echo "an image by digest (name@sha256:<64 hex digits>)"; return 1; }
  echo "$1"
}
rule_dns_name() {
  if [[ $1 =~ ^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]([-a-z0-9]*[a-z0-9])?$ ]] && [ ${#1} -le 253 ]; then
    echo "$1"
  else
    echo "a DNS name (lower case, e.g. btc.example.org)"
    return 1
  fi
}

# check_knobs: every knob's value against its rule, normalised; all problems in one message.
check_knobs() {
  local name rule value problems=()
  for name in "${KNOBS[@]}"; do
    read -ra rule <<<"${KNOB_RULES[$name]}"
    value=${!name}
    if [ ${#rule[@]} -eq 0 ] || [ -z "$value" ]; then continue; fi
    if value=$("rule_${rule[0]}" "$value" "${rule[@]:1}"); then
      printf -v "$name" '%s' "$value"
    else
      problems+=("$name must be $value (got '${!name}')")
    fi
  done
  [ ${#problems[@]} -eq 0 ] || die "invalid settings (nothing was run):$(printf '\n  %s' "${problems[@]}")"
}

# usage SYNOPSIS DESCRIPTION: the -h text, with every knob and its default.
usage() {
  local name default help
  printf 'usage: %s\n\n%s\n\nEnvironment (default in brackets):\n' "$1" "$2"
  for name in "${KNOBS[@]}"; do
    default="KNOB_DEFAULT_$name"
    help="KNOB_HELP_$name"
    printf '  %-30s %s [%s]\n' "$name" "${!help}" "${!default:-empty}"
  done
}

# show_settings: the resolved values, at the top of every run.
show_settings() {
  local name
  note "settings (environment variables; -h lists them):"
  for name in "${KNOBS[@]}"; do
    printf '#   %s=%s\n' "$name" "$(quote "${!name}")" >&3
  done
}

# parse_common_args ARG...: --dry-run and -h/--help for every script, and --host NAME (or
# --host=NAME) for those that declare AKS_HOST; the rest lands in ARGS. Then every knob's rule.
ARGS=()
# shellcheck disable=SC2034 # DRY_RUN is lib.sh's, read by run
parse_common_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --dry-run) DRY_RUN=true ;;
      -h | --help) print_usage; exit 0 ;;
      --host=*) AKS_HOST=${1#--host=} ;;
      --host)
        [ $# -ge 2 ] || die "--host needs a DNS name"
        AKS_HOST=$2
        shift ;;
      *) ARGS+=("$1") ;;
    esac
    shift
  done
  if [ -n "${AKS_HOST:-}" ]; then
    [[ " ${KNOBS[*]} " == *" AKS_HOST "* ]] || die "--host is not a setting of this script (see -h)"
  fi
  check_knobs
}

# ---------------------------------------------------------------------------------------------
# The knobs the scripts share, so that create, install, deploy and destroy agree on names.
declare_azure_knobs() {
  knob AKS_RESOURCE_GROUP btc-price-rg "resource group holding the cluster and the registry" resource_group
  knob AKS_CLUSTER_NAME btc-price-aks "AKS cluster name" cluster_name
}

declare_registry_knob() {
  knob AKS_ACR_NAME "" "container registry name (globally unique, 5-50 lower-case letters and digits); empty: btcprice + the first 8 hex digits of the subscription ID" acr_name
}

# The registry of a kind cluster: a registry container the nodes reach as localhost:5001 (kind's
# local registry guide, kind.sigs.k8s.io/docs/user/local-registry; aks/kind/create-cluster.sh).
KIND_REGISTRY=localhost:5001

declare_kube_knobs() {
  knob AKS_PLATFORM aks "aks: the AKS cluster and its registry (az); kind: the local kind cluster of aks/kind/create-cluster.sh and its registry $KIND_REGISTRY (the end-to-end job)" choice aks kind
  knob AKS_KUBE_CONTEXT "" "kubectl context of the cluster; empty: the cluster name (what az aks get-credentials writes), or kind-<cluster name> on kind"
  knob AKS_HOST "" "public DNS name served over HTTPS with a Let's Encrypt certificate (cert-manager; f5-nginx-ingress only, overlay f5-nginx-ingress-https); also --host NAME; empty: HTTP on the controller's IP" dns_name
  knob AKS_INGRESS_FLAVOUR f5-nginx-ingress "ingress controller, and the overlay of that name deployed: f5-nginx-ingress, ingress-nginx (clusters <= 1.35 only) or app-routing (the AKS add-on's Gateway API implementation)" choice f5-nginx-ingress ingress-nginx app-routing
  case $AKS_PLATFORM in
    aks) AKS_KUBE_CONTEXT=${AKS_KUBE_CONTEXT:-$AKS_CLUSTER_NAME} ;;
    kind) AKS_KUBE_CONTEXT=${AKS_KUBE_CONTEXT:-kind-$AKS_CLUSTER_NAME} ;;
    *) ;;  # refused by its rule (check_knobs)
  esac
}

on_kind() { [ "${AKS_PLATFORM:-aks}" = kind ]; }
