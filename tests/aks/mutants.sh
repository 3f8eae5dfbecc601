# shellcheck shell=bash
# The mutated copies of aks/ for tests/suites/aks.sh, which sources this file after the checks
# (check-*.sh) and provides the helpers, $work and the checks' server's process id ($server):
# mutate starts one, mutations starts them all, running_mutants counts those still running.

# mutate NAME CHECK FILE SED: a copy of aks/ (with the real manifests) whose FILE is edited by SED.
mutate() {
  local name=$1 check=$2 file=$3 expression=$4 copy=$work/mutants/$1
  mkdir -p "$copy/work"
  cp -R aks "$copy/aks"
  ln -s "$PWD/manifests" "$copy/manifests"
  sed -i -e "$expression" "$copy/aks/$file"
  cmp -s "aks/$file" "$copy/aks/$file" && die "mutation $name changed nothing in aks/$file"
  MUTANTS+=("$name:$check")
  # Two at a time (the machine's cores). Each mutant has its own copy, work directory and
  # stand-in log; its exit status is read once all have run.
  while [ "$(running_mutants)" -ge 2 ]; do wait -n || true; done
  # shellcheck disable=SC2030 # on purpose: only the mutant's checks see this work and log
  (
    set +e
    (set -e; work=$copy/work; export FAKE_LOG=$copy/fake.log; "$check" "$copy") >"$copy/mutant.log" 2>&1
    echo $? >"$copy/status"
  ) &
}
MUTANTS=()
# The mutants still running: this shell's running jobs but the checks' server.
# shellcheck disable=SC2031 # the server's process id, set once above (subshells only read it)
running_mutants() { jobs -rp | grep -cvxF "$server" || true; }

# The sed expressions name the scripts' shell variables literally (and end lines with a backslash).
# shellcheck disable=SC2016,SC1003
mutations() {
  mutate no-network-policy check_create_cluster create-cluster.sh '/--network-policy cilium/d'
  mutate no-cilium-dataplane check_create_cluster create-cluster.sh '/--network-dataplane cilium/d'
  mutate no-azure-rbac check_create_cluster create-cluster.sh '/--enable-azure-rbac/d'
  mutate local-accounts-kept check_create_cluster create-cluster.sh '/--disable-local-accounts/d'
  mutate no-attach-acr check_create_cluster create-cluster.sh '/--attach-acr "$AKS_ACR_NAME" \\$/d'
  mutate no-zones check_create_cluster create-cluster.sh '/^    "${zone_args\[@\]}" \\$/d'
  mutate no-autoscaler check_create_cluster create-cluster.sh '/--enable-cluster-autoscaler/d'
  mutate preview-allowed check_create_cluster lib.sh 's/select((.isPreview \/\/ false) | not)/./'
  mutate lexical-version-sort check_create_cluster lib.sh 's/sort_by(numeric)/sort/'
  mutate version-uncapped check_create_cluster_more lib.sh 's/select((.version | numeric) <= ($max | numeric))/./'
  mutate pinned-version-uncapped check_create_cluster_more create-cluster.sh '/! minor_above "$AKS_KUBERNETES_VERSION"/,+1d'
  mutate localdns-default check_create_cluster create-cluster.sh '/--localdns-config aks\/localdns.json/d'
  mutate localdns-preferred check_create_cluster localdns.json 's/Disabled/Preferred/'
  mutate localdns-on-az-aks-create check_create_cluster create-cluster.sh '/--nodepool-taints CriticalAddonsOnly=true:NoSchedule \\$/a\    --localdns-config aks/localdns.json \\'
  mutate system-pool-localdns-undecided check_create_cluster create-cluster.sh 's/^  localdns_pools=(system) /  localdns_pools=() /'
  mutate localdns-reimaged-unasked check_localdns_existing create-cluster.sh 's/\[ "$disable_localdns" != true \]/false/'
  mutate localdns-preferred-ignored check_localdns_existing create-cluster.sh 's/Preferred) localdns_pools+=/Preferred) true || localdns_pools+=/'
  mutate localdns-no-profile-reimaged check_localdns_existing create-cluster.sh 's/if \[\[ $policy == cilium || $policy == calico \]\]; then/if false; then/'
  mutate settings-unchecked check_settings_rules settings.sh 's/^  check_knobs$/  true/'
  mutate pool-bounds-unchecked check_pool_bounds create-cluster.sh 's/\[ "${!min}" -le "${!max}" \]/true/'
  mutate tier-case-sensitive check_settings_case settings.sh 's/"${value,,}" = "${choice,,}"/"$value" = "$choice"/'
  mutate az-version-unchecked check_az_too_old lib.sh 's/^  version_at_least "$version" "$AZ_MIN_VERSION" \\$/  true \\/'
  mutate aks-preview-allowed check_no_aks_preview lib.sh 's/^  \[ -z "$preview" \] \\$/  true \\/'
  mutate preview-pinned check_preview lib.sh 's/and .isPreview == true/and false/'
  mutate lock-not-resumed check_lock_resumed images.sh 's/elif copy_locked "$copy"; then/elif true; then/'
  mutate https-removal-unchecked check_keep_https deploy.sh '/^  keep_https "$remove_https"$/d'
  mutate public-dns-unchecked check_public_dns_planned deploy.sh '/^  check_public_dns "$AKS_HOST" "$ip"$/d'
  mutate public-dns-any-answer check_public_dns_checked https.sh 's/ != "$address" \] || {/ = "$address" ] \&\& true || {/'
  mutate lts-without-premium check_create_cluster_more create-cluster.sh 's/\[ "$AKS_TIER" = premium \]/true/'
  mutate gateway-pods-unchecked check_deploy_more deploy.sh 's/pods=$(kq get pods --namespace "$CONTROLLER_NAMESPACE"/pods=$(true/'
  mutate app-routing-gateway-api-crds-not-enabled check_install_ingress_more install-ingress.sh 's/|| enable_args+=(--enable-gateway-api)/|| true/'
  mutate empty-host-refused check_install_ingress ingress/f5-nginx-ingress.values.yaml '/allowEmptyIngressHost: true/d'
  mutate no-probe-annotation check_install_ingress ingress/ingress-nginx.values.yaml '/health-probe-request-path/d'
  mutate chart-unpinned check_install_ingress install-ingress.sh 's/--version "$chart_version"/--devel/'
  mutate retired-allowed check_install_ingress install-ingress.sh 's/\[ "$minor" -gt 35 \]/false/'
  mutate chart-not-checked check_chart_published install-ingress.sh 's/query helm show chart "$1"/echo/'
  mutate no-rbac-wait check_rbac_wait install-ingress.sh '/^wait_for_rights/d'
  mutate rbac-wildcard-question check_install_ingress install-ingress.sh 's/^install_rights=("create namespaces"/install_rights=("* *"/'
  mutate no-target check_deploy deploy.sh 's/--target "$name" //'
  mutate tag-not-pinned check_deploy deploy.sh 's/newTag: \\"$tag\\"/newTag: latest/'
  mutate no-rollout-wait check_deploy deploy.sh '/rollout status deployment\/service-b/d'
  mutate no-smoke-average check_deploy deploy.sh '/^smoke \/service1\/average/d'
  mutate no-isolation-from-b check_deploy deploy.sh '/^probe service-b/d'
  mutate probe-not-restricted check_deploy isolation.sh 's/--profile restricted/--profile general/'
  mutate probe-in-terminating-pod check_deploy isolation.sh 's/select(.metadata.deletionTimestamp == null)/./'
  mutate probe-in-previous-revision check_deploy isolation.sh 's/,pod-template-hash=$hash//'
  mutate no-third-party-import check_create_cluster create-cluster.sh '/^ensure_third_party_images$/d'
  mutate build-base-from-docker-hub check_deploy deploy.sh 's/--build-arg "RUST_IMAGE=$rust_image" //'
  mutate redis-from-docker-hub check_deploy deploy.sh '/^  echo "  - name: $current"$/,+2d'
  mutate probe-from-docker-hub check_deploy deploy.sh 's#$(third_party_ref isolation-probe "$login_server")#docker.io/library/busybox:1.37.0#'
  mutate kind-copies-every-platform check_kind images.sh 's/run skopeo --override-os linux --override-arch amd64 copy/run skopeo copy --all/'
  mutate import-from-docker-hub check_create_cluster third-party-images.txt 's#public.ecr.aws/docker/library/redis:#docker.io/library/redis:#'
  mutate controller-from-docker-hub check_install_ingress install-ingress.sh '/"${image_args\[@\]}" \\$/d'
  mutate https-host-not-pinned check_https https.sh 's#dnsNames/0\\", \\"value\\": \\"$1#dnsNames/0\\", \\"value\\": \\"btc-price.example.com#'
  mutate cert-manager-not-installed check_https install-ingress.sh 's/run helm --kube-context "$AKS_KUBE_CONTEXT" upgrade cert-manager/true/'
  mutate https-smoke-over-http check_https deploy.sh 's#base_url="https://$AKS_HOST" resolve=#base_url="http://$ip" resolve=#'
  mutate kind-keeps-kindnet check_kind kind/cluster.yaml 's/disableDefaultCNI: true/disableDefaultCNI: false/'
  mutate kind-without-cilium check_kind kind/create-cluster.sh 's/run helm --kube-context "$AKS_KUBE_CONTEXT" upgrade cilium/true/'
  mutate kind-registry-not-wired check_kind kind/create-cluster.sh 's/^  run docker network connect kind "$REGISTRY_CONTAINER"$/  true/'
  mutate probe-in-unready-pod check_deploy isolation.sh 's/.type == "Ready" and .status == "True"/true/'
  mutate existing-tag-not-rebuilt check_build_and_sign deploy.sh '0,/^  for name in "${PROJECT_IMAGES\[@\]}"; do$/s//&\n    [ -z "$(image_digest "$name")" ] || continue/'
  mutate signs-what-the-tag-names check_build_and_sign sign-images.sh 's#@${IMAGE_DIGESTS\[$name\]}$#@$(registry_digest "btc-price/$name:$AKS_IMAGE_TAG")#'
  mutate sign-waits-for-a-yes check_build_and_sign sign-images.sh 's/cosign sign --yes/cosign sign/'
  mutate attest-unknown-flag check_build_and_sign sign-images.sh 's/cosign attest --yes --type cyclonedx --predicate/cosign attest --yes --type cyclonedx --predicate-file/'
  mutate verify-unknown-flag check_verify_images verify-images.sh 's/--certificate-oidc-issuer "$OIDC_ISSUER" \\$/--oidc-issuer "$OIDC_ISSUER" \\/'
  mutate locks-a-moved-tag check_build_and_sign sign-images.sh 's/\[ "$current" = "${IMAGE_DIGESTS\[$name\]}" \]/true/'
  mutate cosign-wrapped check_verify_images lib.sh '/^die() {/i cosign() { local i; for i in 1 2 3; do command cosign "$@" \&\& return 0; done; echo "cosign: giving up" >\&2; }'
  mutate die-only-warns check_verify_images lib.sh 's/; exit 1; }$/; }/'
  mutate provenance-from-any-ref check_verify_images verify-images.sh 's/ --source-ref "$SIGNER_REF"//'
  mutate stale-verified-list-kept check_verify_images verify-images.sh 's/^\[ -z "$output" \] || discard_image_list "$output"$/true/'
  mutate verified-digest-not-its-tag check_deploy_verified deploy.sh 's/if \[ -n "$verified_images" \] \&\& \[ "$digest" != /if false \&\& [ "$digest" != /'
  mutate project-images-by-repository check_deploy_verified deploy.sh 's#^stray=.*#stray=$(grep -vF -e "$login_server/btc-price/" -e "$redis_image" <<<"$images" || true)#'
}
