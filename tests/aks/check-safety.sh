# shellcheck shell=bash
# Checks of what the aks/ scripts refuse or leave alone on purpose, for tests/suites/aks.sh (which
# sources this file and provides the helpers: dry, refused, real, order, cmd, has, lacks...): bad
# settings and an old az before any Azure call, preview versions, reimaging node pools of an
# existing cluster for LocalDNS, unlocked third-party copies, HTTPS removed by a deploy without a
# host, and public DNS that does not point at the controller.

# nothing_called NAME: the run asked Azure nothing at all (the stand-ins' log has no az line).
nothing_called() {
  ! grep '^az ' "$FAKE_LOG" >&2 || { echo "$1: called az before refusing (above)" >&2; return 1; }
}

# Every setting is checked before the first az command, with all problems in one message;
# values are read in any case where az reads them so. (Split so that each mutation of the suite
# runs only the check that catches it.)
check_settings() {
  check_settings_rules "$1"
  check_pool_bounds "$1"
  check_settings_case "$1"
  check_plan_ranges
}

check_settings_rules() {
  local root=$1
  refused settings-bad "$root" "AKS_APPS_POOL_MIN must be a whole number from 0 to 1000 (got 'abc')" \
    AKS_APPS_POOL_MIN=abc AKS_SYSTEM_POOL_MAX=1001 AKS_ACR_NAME=btc_price AKS_TIER=bogus AKS_ZONES="1 1" create-cluster.sh
  nothing_called settings-bad
  has settings-bad "AKS_SYSTEM_POOL_MAX must be a whole number from 1 to 1000 \\(got '1001'\\)"
  has settings-bad "AKS_ACR_NAME must be 5 to 50 lower-case letters and digits"
  has settings-bad "AKS_TIER must be one of: free standard premium \\(got 'bogus'\\)"
  has settings-bad "AKS_ZONES must be zones from 1 2 3"
  refused settings-system-empty "$root" "AKS_SYSTEM_POOL_MIN must be a whole number from 1 to 1000 (got '0')" \
    AKS_SYSTEM_POOL_MIN=0 create-cluster.sh
  refused settings-deploy "$root" "AKS_SMOKE_TIMEOUT must be seconds" AKS_SMOKE_TIMEOUT=soon deploy.sh
  nothing_called settings-deploy
}

check_pool_bounds() {
  refused settings-min-above-max "$1" "AKS_APPS_POOL_MIN (7) must not exceed AKS_APPS_POOL_MAX (6)" \
    AKS_APPS_POOL_MIN=7 create-cluster.sh
  nothing_called settings-min-above-max
}

# Premium as az reads it (any case); a region without zones.
check_settings_case() {
  dry settings-premium "$1" AKS_KUBERNETES_VERSION=1.34.7 AKS_TIER=Premium AKS_ZONES=none create-cluster.sh
  cmd settings-premium '^\+ az aks create' '--tier premium ' '--k8s-support-plan AKSLongTermSupport '
  lacks settings-premium '--zones'
}

# The suite's own check of planned commands applies az's types and ranges too.
check_plan_ranges() {
  printf '+ az aks nodepool add --resource-group rg --cluster-name c --name apps \\\n   --min-count 1001\n' >"$work/bad-count.plan"
  if "${checks[@]}" az-plan "$work/bad-count.plan" 2>"$work/bad-count.err"; then
    echo "az-plan accepted --min-count 1001" >&2
    return 1
  fi
  grep -qF -- '--min-count must be in the range [0,1000]' "$work/bad-count.err" || { cat "$work/bad-count.err" >&2; return 1; }
}

# az's version (and no aks-preview) is checked before the first az command that changes anything.
check_az_version() {
  local root=$1
  check_az_too_old "$root"
  check_no_aks_preview "$root"
  refused az-old-ingress "$root" "azure-cli 2.79.0 is too old" FAKE_KUBE_CONTEXT=btc-price-aks FAKE_AZ_VERSION=2.79.0 \
    AKS_INGRESS_FLAVOUR=app-routing install-ingress.sh
  refused az-old-deploy "$root" "azure-cli 2.79.0 is too old" FAKE_AZ_VERSION=2.79.0 deploy.sh --build-only
  refused az-old-destroy "$root" "azure-cli 2.79.0 is too old" FAKE_AZ_VERSION=2.79.0 FAKE_STATE=present destroy.sh --yes
}

check_az_too_old() {
  refused az-old "$1" "azure-cli 2.85.0 is too old: these scripts need 2.86.0 or later" FAKE_AZ_VERSION=2.85.0 create-cluster.sh
  [ "$(grep -m1 '^az ' "$FAKE_LOG")" = "az version --output json" ] || { echo "az-old: az version is not the first az call" >&2; return 1; }
}

check_no_aks_preview() {
  refused az-preview "$1" "the aks-preview extension 19.0.0b1 is installed" FAKE_AKS_PREVIEW=19.0.0b1 create-cluster.sh
}

# A pinned preview version only with --allow-preview.
check_preview() {
  local root=$1
  refused create-preview "$root" "Kubernetes 1.37 is a preview in westeurope" AKS_KUBERNETES_VERSION=1.37 create-cluster.sh
  lacks create-preview '^\+ az aks create'
  dry create-preview-allowed "$root" AKS_KUBERNETES_VERSION=1.37 create-cluster.sh --allow-preview
  cmd create-preview-allowed '^\+ az aks create' '--kubernetes-version 1\.37 '
  has create-preview-allowed '^# WARNING: Kubernetes 1\.37 is a preview'
}

# An existing cluster's pools are never reimaged without --disable-localdns. No profile is off in
# a cluster with Cilium network policies (excluded from AKS's automatic LocalDNS), not with Azure
# NPM; Preferred and Required pools are reported, and changed only with the flag.
check_localdns_existing() {
  local root=$1 pools="FAKE_LOCALDNS=system:none apps:Preferred extra:Required gpu:Disabled"
  dry localdns-reported "$root" FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks "$pools" create-cluster.sh
  nothing_changes localdns-reported
  has localdns-reported '^# system: no profile, unchanged: AKS does not turn LocalDNS on in clusters with cilium network policies$'
  has localdns-reported '^# WARNING: apps: Preferred: .*run again with --disable-localdns .*reimages'
  has localdns-reported '^# WARNING: extra: Required: LocalDNS is on, so the poller cannot resolve the exchanges'
  has localdns-reported '^# gpu: Disabled, unchanged$'
  dry localdns-disabled "$root" FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks "$pools" create-cluster.sh --disable-localdns
  cmd localdns-disabled '^\+ az aks nodepool update .*--name apps ' '--localdns-config aks/localdns\.json$'
  cmd localdns-disabled '^\+ az aks nodepool update .*--name extra ' '--localdns-config aks/localdns\.json$'
  lacks localdns-disabled '^\+ az aks nodepool update .*--name (system|gpu) '
  jq '.policy = "azure"' "$data/aks-show.json" >"$work/aks-show-npm.json"
  dry localdns-npm "$root" FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks FAKE_AKS_SHOW="$work/aks-show-npm.json" \
    "FAKE_LOCALDNS=system:none apps:Disabled" create-cluster.sh
  nothing_changes localdns-npm
  has localdns-npm '^# WARNING: system: no profile: AKS turns LocalDNS on for pools on Kubernetes 1\.36 or later'
}

# A copy imported by a run that stopped before locking it is locked by the next run.
check_lock_resumed() {
  local root=$1
  dry lock-resumed "$root" FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks FAKE_THIRD_PARTY_UNLOCKED=rust-build-base create-cluster.sh
  cmd lock-resumed '^\+ az acr repository update .*--image third-party/library/rust:' '--write-enabled false' '--delete-enabled false'
  has lock-resumed '^# third-party/library/rust:.* exists, sha256:[0-9a-f]{64}, but is not locked .*: locking it$'
  lacks lock-resumed '^\+ az acr import'
  lacks lock-resumed '^\+ az acr repository update .*--image third-party/library/redis'
  has lock-resumed '^# third-party/library/redis:8\.10-alpine \(redis\) exists, sha256:2d3814be.*, locked, unchanged$'
}

# A deploy without a host on a cluster that serves HTTPS stops before building or applying
# anything, unless --remove-https; the pipeline without AKS_HOST stops the same way.
check_keep_https() {
  local root=$1
  local common=(FAKE_KUBE_CONTEXT=btc-price-aks "AKS_IMAGE_TAG=$tag" "AKS_DEPLOYER_GROUP_ID=$group_id" FAKE_IMAGES=present)
  refused keep-https "$root" "the cluster serves HTTPS for btc.example.org (TLS on Ingress service-a/btc-price-master, Certificate service-a/btc-price-tls), but no host was given" \
    "${common[@]}" FAKE_HTTPS_HOST=btc.example.org deploy.sh
  has keep-https 'Deploy with --host btc\.example\.org .*or pass --remove-https'
  lacks keep-https '^(\+ az acr build|\? kubectl kustomize)'
  refused keep-https-no-certificate-right "$root" "the cluster serves HTTPS for btc.example.org (TLS on Ingress service-a/btc-price-master)" \
    "${common[@]}" FAKE_HTTPS_HOST=btc.example.org FAKE_CERTIFICATE=forbidden deploy.sh --skip-build
  dry keep-https-removed "$root" "${common[@]}" FAKE_HTTPS_HOST=btc.example.org deploy.sh --skip-build --remove-https
  has keep-https-removed '^# WARNING: the cluster serves HTTPS for btc\.example\.org; --remove-https'
  has keep-https-removed '^\? kubectl kustomize manifests/overlays/f5-nginx-ingress$'
  dry keep-https-none "$root" "${common[@]}" FAKE_CERTIFICATE=forbidden deploy.sh --skip-build
  has keep-https-none '^# Certificate service-a/btc-price-tls not readable \(Error from server \(Forbidden\)'
  has keep-https-none '^# the cluster serves no HTTPS'
  refused keep-https-contradiction "$root" "--remove-https contradicts the host" "${common[@]}" deploy.sh --host btc.example.org --remove-https
}

check_pipeline_keeps_https() {
  local workflow=$1
  if pipeline pipeline-deploy-drops-https "$workflow" "vars.AKS_DEPLOYER_GROUP_ID=$group_id" "github.sha=$tag" \
      "github.repository=$signer_repository" FAKE_KUBE_CONTEXT=btc-price-aks FAKE_STATE=present FAKE_IMAGES=present \
      FAKE_HTTPS_HOST=btc.example.org; then
    echo "the pipeline's deploy without AKS_HOST removed the cluster's HTTPS" >&2
    return 1
  fi
  has pipeline-deploy-drops-https 'but no host was given'
  lacks pipeline-deploy-drops-https '^\+ kubectl .* apply'
}

# A deploy with a host asks public DNS for it, after the smoke tests.
check_public_dns_planned() {
  dry deploy-https-dns "$1" FAKE_KUBE_CONTEXT=btc-price-aks "AKS_IMAGE_TAG=$tag" "AKS_DEPLOYER_GROUP_ID=$group_id" \
    FAKE_IMAGES=present deploy.sh --skip-build --host btc.example.org
  order deploy-https-dns '^# expect a Strict-Transport-Security header' '^# expect public DNS to resolve'
  cmd deploy-https-dns '^\? curl .*dns\.google' "--header 'accept: application/dns-json' " \
    "'https://dns\\.google/resolve\\?name=btc\\.example\\.org&type=A'\$"
  has deploy-https-dns '^# expect public DNS to resolve btc\.example\.org to 20\.31\.0\.10 only'
}

# Public DNS must resolve the host to the controller's address, and only to it (the smoke tests'
# curl --resolve would pass with a stale record).
check_public_dns_checked() {
  local root=$1 case addresses down outcome message got
  for case in "20.31.0.10||ok|public DNS: btc.example.org -> 20.31.0.10" \
      "20.31.0.10|dns.google|ok|public DNS: btc.example.org -> 20.31.0.10" \
      "203.0.113.7||fail|public DNS resolves btc.example.org to 203.0.113.7, not only to 20.31.0.10" \
      "20.31.0.10 203.0.113.7||fail|resolves btc.example.org to 20.31.0.10 203.0.113.7, not only" \
      "||fail|resolves btc.example.org to nothing (no A record)" \
      "unreachable||ok|WARNING: no public resolver answered"; do
    IFS='|' read -r addresses down outcome message <<<"$case"
    : >"$FAKE_LOG"
    if (
      export FAKE_PUBLIC_DNS="$addresses" FAKE_PUBLIC_DNS_DOWN="${down:-none}" AKS_SMOKE_TIMEOUT=0 AKS_CHECK_DNS=yes
      # shellcheck source=aks/lib.sh
      source "$root/aks/lib.sh"
      check_public_dns btc.example.org 20.31.0.10
    ) >"$work/dns.out" 2>&1; then got=ok; else got=fail; fi
    if [ "$got" != "$outcome" ] || ! grep -qF -- "$message" "$work/dns.out"; then
      cat "$work/dns.out" >&2
      echo "public DNS '$addresses' (down: ${down:-none}): expected $outcome with: $message" >&2
      return 1
    fi
  done
  (
    export FAKE_PUBLIC_DNS=203.0.113.7 AKS_SMOKE_TIMEOUT=0 AKS_CHECK_DNS=warn
    # shellcheck source=aks/lib.sh
    source "$root/aks/lib.sh"
    check_public_dns btc.example.org 20.31.0.10
  ) >"$work/dns.out" 2>&1 || { cat "$work/dns.out" >&2; echo "AKS_CHECK_DNS=warn failed the deploy" >&2; return 1; }
  grep -q '^# WARNING: public DNS resolves btc.example.org to 203.0.113.7' "$work/dns.out" || { cat "$work/dns.out" >&2; return 1; }
}
