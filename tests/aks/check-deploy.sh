# shellcheck shell=bash
# Checks of aks/deploy.sh for tests/suites/aks.sh, which sources this file and provides the
# helpers (dry, refused, order, cmd, has, lacks...).

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
      "--target $image " '--file Dockerfile ' ' \.$' "--build-arg '?RUST_IMAGE=$registry/third-party/library/rust@sha256:"
    has deploy "^# rendered: .*$registry/btc-price/$image:$tag"
  done
  cmd deploy '^\+ kubectl .*rollout status deployment/service-a' '--namespace service-a' '--timeout 5m'
  cmd deploy '^\+ kubectl .*rollout status deployment/service-b' '--namespace service-b' '--timeout 5m'
  cmd deploy '^\+ kubectl .*debug pod/service-a-' '--namespace service-a' '--profile restricted' \
    '--custom aks/isolation-probe\.json' "--image $registry/third-party/library/busybox@sha256:7a3ebe5bfd1a4a19797d20b0c0bb39d44393e9a03fd852c0865b0f540d868df0 " \
    'http://192\.168\.2\.45:8080/service2/' 'http://10\.0\.93\.2:80/service2/' 'timed out'
  # The probes run in a Ready pod of the current revision, not in one that is terminating or
  # belongs to the previous ReplicaSet (tests/aks/pods.json lists those first).
  cmd deploy '^\+ kubectl .*debug pod/service-a-' 'debug pod/service-a-7c9d8f6b5-x2k4p '
  cmd deploy '^\+ kubectl .*debug pod/service-b-' 'debug pod/service-b-5f7d9c8b6-q8m3n '
  cmd deploy '^\+ kubectl .*debug pod/service-b-' '--namespace service-b' '--profile restricted' \
    'http://192\.168\.1\.23:8080/service1/current' 'http://10\.0\.41\.7:80/service1/current'
  has deploy "^# +value: $group_id\$"
  # Nothing comes from Docker Hub: Redis, the build base and the probe are the registry's copies.
  has deploy "^# rendered: .*$registry/third-party/library/redis@sha256:2d3814be5e9b"
  lacks deploy 'docker\.io'
}

# Re-run, the pipeline's two halves, another flavour, and what must be refused.
check_deploy_more() {
  local root=$1
  local common=(FAKE_KUBE_CONTEXT=btc-price-aks "AKS_IMAGE_TAG=$tag" "AKS_DEPLOYER_GROUP_ID=$group_id")
  # The Gateway flavour: after the apply, its gateway pods must carry the policy's peer labels,
  # and the smoke tests go through the address in the Gateway's status. (First: the mutated copy
  # these checks must catch fails here, and a mutant's checks stop at their first failure.)
  dry deploy-app-routing "$root" "${common[@]}" AKS_INGRESS_FLAVOUR=app-routing deploy.sh
  order deploy-app-routing '^\? kubectl kustomize manifests/overlays/app-routing$' '^\+ kubectl --context btc-price-aks apply -k' \
    "^# NetworkPolicy peer .*: $(policy_peer "$root" app-routing)\$" \
    '^\? kubectl --context btc-price-aks get pods' '^\? kubectl --context btc-price-aks get gateway btc-price' \
    '^\? curl .* http://20\.31\.0\.20/service1/current$'
  cmd deploy-app-routing '^\? kubectl --context btc-price-aks get pods' '--namespace btc-price-gateway ' \
    '--selector gateway\.istio\.io/managed=istio\.io-gateway-controller,gateway\.networking\.k8s\.io/gateway-name=btc-price '
  cmd deploy-app-routing '^\? kubectl --context btc-price-aks get gateway btc-price' '--namespace btc-price-gateway ' \
    'jsonpath=\{\.status\.addresses\[0\]\.value\}'
  has deploy-app-routing "^# +value: $group_id\$"
  lacks deploy-app-routing 'get ingress --namespace'
  # The images of a tag that exists are built again: only what this run built is signed.
  dry deploy-again "$root" "${common[@]}" FAKE_IMAGES=present deploy.sh
  order deploy-again '^\+ az acr build' '^\+ az acr build' '^\+ az acr build' '^\+ kubectl .* apply -k'

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

# The pipeline's deploy job, run as GitHub would run it (its verification and deploy steps with the
# job's environment from WORKFLOW and the repository variables set, AKS_HOST among them). With a
# host it must apply the HTTPS overlay and smoke-test through https://<host>; without one, the plain
# overlay.
check_pipeline_deploy() {
  local workflow=$1 common=(FAKE_KUBE_CONTEXT=btc-price-aks FAKE_STATE=present FAKE_IMAGES=present
    "vars.AKS_DEPLOYER_GROUP_ID=$group_id" "github.sha=$tag" "github.repository=$signer_repository")
  pipeline pipeline-deploy-https "$workflow" "${common[@]}" vars.AKS_HOST=btc.example.org \
    || { cat "$work/pipeline-deploy-https.out" >&2; return 1; }
  has pipeline-deploy-https '^\? kubectl kustomize manifests/overlays/f5-nginx-ingress-https$'
  cmd pipeline-deploy-https '^\? curl .*https://btc\.example\.org/service1/current$' '--resolve btc\.example\.org:443:'
  has pipeline-deploy-https '^# expect 301 https://btc\.example\.org:443/service1/current$'
  pipeline pipeline-deploy-plain "$workflow" "${common[@]}" || { cat "$work/pipeline-deploy-plain.out" >&2; return 1; }
  has pipeline-deploy-plain '^\? kubectl kustomize manifests/overlays/f5-nginx-ingress$'
}
