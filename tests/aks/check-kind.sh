# shellcheck shell=bash
# Checks of the end-to-end job's scripts on kind (aks/kind, AKS_PLATFORM=kind) for
# tests/suites/aks.sh, which sources this file and provides the helpers.

# The end-to-end job's cluster (aks/kind) and the same install and deploy scripts on it
# (AKS_PLATFORM=kind): what the job in .github/workflows/ci-cd.yml runs, step by step.
check_kind() {
  local root=$1
  local kind_env=(AKS_PLATFORM=kind AKS_CLUSTER_NAME=btc-price-e2e FAKE_KUBE_CONTEXT=kind-btc-price-e2e FAKE_STATE=present)
  grep -qE '^  disableDefaultCNI: true$' "$root/aks/kind/cluster.yaml" \
    || { echo "aks/kind/cluster.yaml must disable kindnet, which enforces no NetworkPolicy" >&2; return 1; }
  dry kind-new "$root" kind/create-cluster.sh
  order kind-new '^\? helm show chart cilium --repo https://helm\.cilium\.io --version 1\.19\.3$' \
    '^\+ docker run' '^\+ kind create cluster' '^\+ docker exec -i btc-price-e2e-worker2 cp /dev/stdin /etc/containerd/certs\.d/localhost:5001/hosts\.toml$' \
    '^\+ docker network connect kind kind-registry$' '^\+ helm --kube-context kind-btc-price-e2e upgrade cilium cilium' \
    '^\+ docker run' '^\+ skopeo '
  cmd kind-new '^\+ docker run' '--publish 127\.0\.0\.1:5001:5000 ' '--name kind-registry ' 'registry:3@sha256:849b7d29920d060df8091770ede2279c07924ecd29e2a4c029ee0b5ea2ea542b$'
  cmd kind-new '^\+ kind create cluster' '--name btc-price-e2e ' '--config aks/kind/cluster\.yaml ' \
    '--image kindest/node:v1\.35\.1@sha256:05d7bcdefbda'
  cmd kind-new '^\+ helm --kube-context kind-btc-price-e2e upgrade cilium' '--repo https://helm\.cilium\.io ' \
    '--version 1\.19\.3 ' '--namespace kube-system ' '--wait'
  cmd kind-new '^\+ docker run .*cloud-provider-kind' '--network kind ' \
    'registry\.k8s\.io/cloud-provider-kind/cloud-controller-manager:v0\.11\.1@sha256:40e18b9cd9c798cce40d39ff5c099a4f16a36c268d8e1dda469d73955a35e403$'
  # Only the linux/amd64 image of each, the runner's (the listed digest is that image's).
  cmd kind-new '^\+ skopeo .*redis' '^\+ skopeo --override-os linux --override-arch amd64 copy ' '--preserve-digests ' \
    'docker://public\.ecr\.aws/docker/library/redis@sha256:2d3814be5e9b.* docker://localhost:5001/third-party/library/redis:8\.10-alpine$'
  cmd kind-new '^\+ skopeo .*nginx-ingress' '--override-arch amd64 ' \
    'docker://ghcr\.io/nginx/kubernetes-ingress:5\.5\.4 docker://localhost:5001/third-party/nginx/nginx-ingress:5\.5\.4$'
  lacks kind-new '^\+ skopeo .*(--all|--multi-arch)'
  dry kind-again "$root" "${kind_env[@]}" FAKE_HELM_DESCRIPTION=chart=1.19.3 kind/create-cluster.sh
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
  has kind-deploy "^# rendered: .*localhost:5001/third-party/library/redis@sha256:2d3814be5e9b"
  cmd kind-deploy '^\+ kubectl .*debug pod/service-a-' "--image localhost:5001/third-party/library/busybox@sha256:7a3ebe5bfd1a"
  lacks kind-deploy '^[?+] (az|kubelogin) '

  dry kind-delete "$root" "${kind_env[@]}" kind/delete-cluster.sh
  order kind-delete '^\+ kind delete cluster --name btc-price-e2e$' '^\+ docker rm --force kind-registry$' \
    '^\+ docker rm --force cloud-provider-kind$'
}
