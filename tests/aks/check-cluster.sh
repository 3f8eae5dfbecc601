# shellcheck shell=bash
# Checks of aks/create-cluster.sh and aks/destroy.sh for tests/suites/aks.sh, which sources this
# file and provides the helpers (dry, refused, order, cmd, has, lacks...).

check_create_cluster() {
  local root=$1
  dry create-new "$root" FAKE_STATE=absent create-cluster.sh
  order create-new '^\? az account show' '^\? az group exists --name btc-price-rg' '^\+ az group create' \
    '^\? az acr check-name' '^\+ az acr create' '^\? az aks get-versions --location westeurope --output json' \
    'Kubernetes 1\.36\.10: the newest GA' '^\+ az aks create' '^\+ az aks nodepool update' '^\+ az aks nodepool add' \
    '^\+ az role assignment create' '^\+ az aks get-credentials' '^\+ kubelogin convert-kubeconfig --login azurecli'
  # Every third-party image copied into the registry (by digest where one is listed) and locked,
  # before anything could pull it.
  local use copy source digest
  while read -r use copy source digest; do
    order create-new '^\+ az acr create' "^\\+ az acr import" '^\+ az aks create'
    cmd create-new "^\\+ az acr import .*--image ${copy//./\\.}\$" \
      "--source ${source%:*}$([ "$digest" = - ] && echo ":${source##*:}" || echo "@$digest") "
    cmd create-new "^\\+ az acr repository update .*--image ${copy//./\\.} " '--write-enabled false' '--delete-enabled false'
  done < <(grep -Ev '^[[:space:]]*(#|$)' "$root/aks/third-party-images.txt")
  lacks create-new '--source (docker\.io/|[a-z0-9-]+/[a-z0-9-]+:)'

  has create-new '^# azure-cli 2\.91\.0 \(at least 2\.86\.0\), no aks-preview extension$'
  cmd create-new '^\+ az group create' '--location westeurope' 'created-by=aks/create-cluster\.sh'
  cmd create-new '^\+ az acr create' '--name btcprice0f1e2d3c' '--admin-enabled false'
  cmd create-new '^\+ az aks create' '--kubernetes-version 1\.36\.10 ' '--tier standard' \
    '--enable-managed-identity' '--enable-aad ' '--enable-azure-rbac' '--disable-local-accounts' \
    '--network-plugin azure ' '--network-plugin-mode overlay' '--network-dataplane cilium' '--network-policy cilium' \
    '--zones 1 2 3 ' '--enable-cluster-autoscaler' '--min-count 3 ' '--max-count 5 ' \
    '--auto-upgrade-channel patch' '--node-os-upgrade-channel NodeImage' '--attach-acr btcprice0f1e2d3c' '--no-ssh-key'
  # LocalDNS decided per pool (az aks create has no --localdns-config): the system pool by an
  # update right after creation, apps when it is added, before any workload runs. Off on both:
  # with it on, DNS would bypass the kube-dns allowance of the egress policies.
  cmd create-new '^\+ az aks nodepool update' '--cluster-name btc-price-aks ' '--name system ' '--localdns-config aks/localdns\.json$'
  cmd create-new '^\+ az aks nodepool add' '--name apps' '--mode User' '--zones 1 2 3 ' '--enable-cluster-autoscaler' \
    '--min-count 3 ' '--max-count 6' '--localdns-config aks/localdns\.json'
  lacks create-new 'k8s-support-plan'
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
  has create-again '^# system: Disabled, unchanged$'
  has create-again '^# apps: Disabled, unchanged$'
  has create-again '^# third-party/library/redis:8\.10-alpine \(redis\) exists, sha256:2d3814be'
  # A minor past its community support (LTS only) needs the Premium tier and the LTS plan.
  refused create-lts-standard "$root" "under AKS long-term support only" AKS_KUBERNETES_VERSION=1.34.7 create-cluster.sh
  dry create-lts-premium "$root" AKS_KUBERNETES_VERSION=1.34.7 AKS_TIER=premium create-cluster.sh
  cmd create-lts-premium '^\+ az aks create' '--kubernetes-version 1\.34\.7 ' '--tier premium ' '--k8s-support-plan AKSLongTermSupport '
  refused create-third-party-drift "$root" "not sha256:8d7cf6bc81180ec559dca5dd149d9ce78c9cfa270da33ab5690c6b9a5190d953 as aks/third-party-images.txt says" \
    FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks FAKE_THIRD_PARTY_DRIFT=yes create-cluster.sh
  has create-again 'policy.:.cilium'
  jq '.policy = "none"' "$data/aks-show.json" >"$work/aks-show-no-policy.json"
  refused create-no-policy "$root" "enforces no NetworkPolicy" \
    FAKE_STATE=present FAKE_AKS_SHOW="$work/aks-show-no-policy.json" create-cluster.sh
}

f5_fingerprint() {
  echo "chart=2.6.4 values-sha256=$(sha256sum "$1/aks/ingress/f5-nginx-ingress.values.yaml" | cut -c1-16)" \
    "image=sha256:$(printf '%s' third-party/nginx/nginx-ingress:5.5.4 | sha256sum | cut -c1-64)"
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
