#!/usr/bin/env bash
# Builds the three images in the container registry (az acr build: no local Docker), deploys the
# overlay of the chosen ingress flavour with the images pinned to this commit (in the pipeline: to
# the digests aks/verify-images.sh verified, and no other image of the project), waits for the
# rollouts, smoke-tests the routes through the ingress controller's public IP, and proves on the
# live cluster that Service A and Service B cannot reach each other.
set -euo pipefail
# shellcheck source=aks/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=aks/isolation.sh
source "$AKS_DIR/isolation.sh"
cd "$REPO_ROOT"

declare_azure_knobs
declare_registry_knob
declare_kube_knobs
knob AKS_IMAGE_TAG "" "image tag; empty: the git commit of HEAD (refused if the files that go into the images have uncommitted changes)" image_tag
knob AKS_DEPLOYER_GROUP_ID "" "object ID of the Entra group holding the CI/CD identity, made subject of the deployer RoleBindings; empty: manifests/components/settings/deployer-subject.yaml, which must not be the all-zero placeholder" guid
knob AKS_ROLLOUT_TIMEOUT 5m "how long to wait for each Deployment's rollout (e.g. 300s, 5m)" duration
knob AKS_SMOKE_TIMEOUT 180 "seconds to wait for each route to answer (the first price needs ~20 s)" seconds
knob AKS_INGRESS_IP "" "address to smoke-test through; empty: read from the Ingresses' status" ipv4
knob AKS_CHECK_ISOLATION yes "yes: prove A and B cannot reach each other from inside their pods (kubectl debug); no: skip" choice yes no
knob AKS_CHECK_DNS yes "with a host: yes: fail when public DNS does not resolve it to the controller's address only; warn: only warn" choice yes warn
knob AKS_PROBE_IMAGE "" "image of the ephemeral probe container, by digest (needs sh and wget); empty: the registry's copy of busybox (aks/third-party-images.txt)" pinned_image

print_usage() {
  usage "aks/deploy.sh [--dry-run] [--build-only [--built-images FILE] | --skip-build [--verified-images FILE]] [--host NAME | --remove-https] [-h]" \
"Builds api-a, api-b and poller in the registry (one Dockerfile, --target per image, tagged with the
git commit; always built, also when the tag exists), applies manifests/overlays/<AKS_INGRESS_FLAVOUR>
with the images pinned, waits for the rollouts, smoke-tests /service1/current, /service1/average and
/service2/ through the ingress controller, and checks isolation from inside pod A and pod B. The
rendered manifests may name no image but these and the listed third-party copies.
  --build-only  only build and push the images (the pipeline's build job)
  --built-images FILE  with --build-only: write the digests the builds reported to FILE
                (<registry>/btc-price/<name>@sha256:..., what aks/sign-images.sh signs)
  --skip-build  do not build; the images of this tag must exist
  --verified-images FILE  with --skip-build (the pipeline's deploy job): deploy exactly the digests
                of FILE (aks/verify-images.sh --output), each still the one its tag names
  --host NAME   serve NAME over HTTPS (overlay f5-nginx-ingress-https, Let's Encrypt certificate;
                aks/install-ingress.sh --host NAME first, and NAME's DNS pointing at the
                controller); the smoke tests then go through https://NAME; same as AKS_HOST
  --remove-https  deploy without a host although the cluster serves HTTPS (TLS on the master
                Ingress, or the Certificate): removes TLS, the redirect and HSTS; refused without it
  --dry-run     print the commands that would change something instead of running them;
                read-only queries (az show, kubectl get, kubectl kustomize) still run
  -h            this help"
}

# The files that go into the images (Dockerfile); their state decides whether HEAD names the build.
IMAGE_SOURCES=(Dockerfile .dockerignore Cargo.toml Cargo.lock common api-a api-b poller)
ZERO_GUID=00000000-0000-0000-0000-000000000000

parse_common_args "$@"
mode=all remove_https=false built_images="" verified_images=""
set -- "${ARGS[@]}"
while [ $# -gt 0 ]; do
  case $1 in
    --build-only) mode=build ;;
    --skip-build) mode=deploy ;;
    --remove-https) remove_https=true ;;
    --built-images | --verified-images)
      [ $# -ge 2 ] || die "$1 needs a file"
      if [ "$1" = --built-images ]; then built_images=$2; else verified_images=$2; fi
      shift ;;
    *) die "unexpected argument: $1 (see -h)" ;;
  esac
  shift
done
[ -z "$built_images" ] || [ "$mode" = build ] || die "--built-images goes with --build-only"
[ -z "$verified_images" ] || [ "$mode" = deploy ] || die "--verified-images goes with --skip-build"
[ -z "$built_images" ] || discard_image_list "$built_images"
[ "$remove_https" = false ] || [ -z "$AKS_HOST" ] || die "--remove-https contradicts the host $AKS_HOST (--host, AKS_HOST)"
overlay=$(flavour_overlay "$AKS_INGRESS_FLAVOUR")
flavour_controller "$AKS_INGRESS_FLAVOUR"
case $AKS_PLATFORM:$mode in
  aks:build) require_tools az git ;;
  aks:*) require_tools az git kubectl kubelogin curl jq ;;
  kind:build) require_tools docker git curl ;;
  kind:*) require_tools docker git kubectl curl jq ;;
esac
announce_mode
on_kind || require_az_version

step "Registry"
on_kind || resolve_acr_name
show_settings
login_server=$(registry_login_server)
note "registry $login_server"
[ -z "$verified_images" ] || read_image_list "$verified_images" "$login_server"

step "Image tag"
if [ -n "$AKS_IMAGE_TAG" ]; then
  tag=$AKS_IMAGE_TAG
  note "tag $tag (AKS_IMAGE_TAG)"
else
  tag=$(query git rev-parse HEAD)
  changes=$(query git status --porcelain -- "${IMAGE_SOURCES[@]}")
  [ -z "$changes" ] || die "uncommitted changes in files that go into the images; commit them (the tag is the commit) or set AKS_IMAGE_TAG:
$changes"
  note "tag $tag (the commit; the image sources are committed)"
fi

if [ "$mode" != build ]; then
  step "kubectl context"
  ensure_kube_context
  keep_https "$remove_https"
  if [ "$AKS_CHECK_ISOLATION" = yes ]; then
    # The isolation check adds an ephemeral container to a pod of each service. Checked before
    # anything is built: the deployer Role grants it, but a narrower identity may not have it.
    for ns in service-a service-b; do
      allowed=$(kq auth can-i patch pods --subresource ephemeralcontainers --namespace "$ns" 2>/dev/null) || allowed=no
      if [ "$KUBE_READY" = true ] && [ "$allowed" != yes ]; then
        die "this identity may not add ephemeral containers to pods in $ns (needed by the isolation check); run as a cluster admin, or set AKS_CHECK_ISOLATION=no"
      fi
    done
  fi
fi

# image_digest NAME: the registry's digest of btc-price/NAME:$tag, empty if it is not there.
image_digest() { registry_digest "btc-price/$1:$tag"; }

if [ "$mode" != deploy ]; then
  step "Build the images into the registry (az acr build; docker build and push on kind)"
  rust_image=$(third_party_ref rust-build-base "$login_server")
  built=()
  # Every image is built, also when its tag exists: what the pipeline signs next is the digest this
  # run's build reported, never an image someone else pushed under the commit's tag.
  for name in "${PROJECT_IMAGES[@]}"; do
    # The build context is the repository root (minus .dockerignore); --target picks the stage;
    # the build base is the registry's copy (Docker Hub's anonymous pull limit, create-cluster.sh).
    if on_kind; then
      # The end-to-end job: built by the local Docker engine and pushed to the kind registry.
      run docker build --target "$name" --build-arg "RUST_IMAGE=$rust_image" \
        --tag "$login_server/btc-price/$name:$tag" --file Dockerfile .
      run docker push "$login_server/btc-price/$name:$tag"
      digest=$([ "$DRY_RUN" = true ] || image_digest "$name")
    else
      # --no-logs: az acr build then waits for the run and returns it, with the digest it pushed
      # (outputImages); a failed run's error names the command that shows its log.
      digest=$(run az acr build --registry "$AKS_ACR_NAME" --image "btc-price/$name:$tag" --target "$name" \
        --build-arg "RUST_IMAGE=$rust_image" --file Dockerfile --platform linux/amd64 --no-logs \
        --query "outputImages[?repository=='btc-price/$name'].digest | [0]" --output tsv .)
    fi
    [[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || [ "$DRY_RUN" = true ] \
      || die "the build of btc-price/$name:$tag reported no digest ('$digest'): nothing to sign"
    built+=("$login_server/btc-price/$name@${digest:-sha256:<digest the build reports>}")
  done
  if [ -n "$built_images" ] && [ "$DRY_RUN" = false ]; then
    write_image_list "$built_images" "${built[@]}"
  fi
  note "built: ${built[*]}"
  if [ "$mode" = build ]; then
    note "images built; deploy them with: aks/deploy.sh --skip-build (AKS_IMAGE_TAG=$tag)"
    exit 0
  fi
else
  step "The images of tag $tag exist in the registry${verified_images:+, as verified}"
  for name in "${PROJECT_IMAGES[@]}"; do
    digest=$(image_digest "$name")
    # A verified digest is deployed only while the commit's (locked) tag still names it.
    if [ -n "$verified_images" ] && [ "$digest" != "${IMAGE_DIGESTS[$name]}" ]; then
      die "btc-price/$name:$tag is ${digest:-not in the registry}, not ${IMAGE_DIGESTS[$name]} as $verified_images verified: refusing to deploy"
    fi
    if [ -n "$digest" ]; then
      note "btc-price/$name:$tag ($digest)"
    elif [ "$DRY_RUN" = true ]; then
      note "btc-price/$name:$tag is not in the registry yet (the build job pushes it)"
    else
      die "btc-price/$name:$tag is not in $AKS_ACR_NAME; build it first (aks/deploy.sh --build-only)"
    fi
  done
fi

step "Pin the images in overlay $overlay"
# kubectl has kustomize built in but not `kustomize edit`. Rather than editing the committed
# overlay, a throw-away overlay on top of it sets the images (and the deployer group), so the
# committed files stay untouched and the pin is exactly what is applied.
redis_image=$(third_party_ref redis "$login_server")
work=$(mktemp -d "${TMPDIR:-/tmp}/btc-price-deploy.XXXXXX")
trap 'rm -rf "$work"' EXIT
base_render=$(query kubectl kustomize "manifests/overlays/$overlay")
{
  echo "# Generated by aks/deploy.sh: manifests/overlays/$overlay with the images of tag $tag."
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  echo "  - $(path_from "$work" "$REPO_ROOT/manifests/overlays/$overlay")"
  echo "images:"
  for name in "${PROJECT_IMAGES[@]}"; do
    # The name the overlay gives the image (its registry placeholder), which this overlay replaces.
    current=$(sed -nE "s#^[[:space:]]*(- )?image: (.*/btc-price/$name)[:@].*#\2#p" <<<"$base_render" | sort -u)
    if [ -z "$current" ] || [ "$(wc -l <<<"$current")" -ne 1 ]; then
      die "overlay $overlay does not name exactly one image for btc-price/$name: '$current'"
    fi
    echo "  - name: $current"
    echo "    newName: $login_server/btc-price/$name"
    if [ -n "$verified_images" ]; then
      echo "    digest: ${IMAGE_DIGESTS[$name]}"
    else
      echo "    newTag: \"$tag\""
    fi
  done
  # Redis: the registry's copy, by the digest the registry reports (checked against the list).
  current=$(sed -nE 's#^[[:space:]]*(- )?image: (.*/redis)[:@].*#\2#p' <<<"$base_render" | sort -u)
  if [ -z "$current" ] || [ "$(wc -l <<<"$current")" -ne 1 ]; then
    die "overlay $overlay does not name exactly one Redis image: '$current'"
  fi
  echo "  - name: $current"
  echo "    newName: ${redis_image%@*}"
  echo "    digest: ${redis_image#*@}"
  [ -z "$AKS_DEPLOYER_GROUP_ID$AKS_HOST" ] || echo "patches:"
  [ -z "$AKS_HOST" ] || https_patches "$AKS_HOST"
  if [ -n "$AKS_DEPLOYER_GROUP_ID" ]; then
    echo "  - target:"
    echo "      kind: RoleBinding|ClusterRoleBinding"
    echo "      labelSelector: app.kubernetes.io/component=ci-deployer"
    echo "    patch: |-"
    echo "      - op: replace"
    echo "        path: /subjects/0/name"
    echo "        value: $AKS_DEPLOYER_GROUP_ID"
  fi
} >"$work/kustomization.yaml"
note "$work/kustomization.yaml:"
sed 's/^/#   /' "$work/kustomization.yaml" >&3
rendered=$(query kubectl kustomize "$work")
# Every image the manifests name, exactly: the project's of this commit (by the verified digests in
# the pipeline) and the registry's copy of Redis; any other, also one under .../btc-price/, stops.
images=$(sed -nE 's#^[[:space:]]*(- )?image: ##p' <<<"$rendered" | tr -d "\"'" | sort -u)
allowed=("$redis_image")
for name in "${PROJECT_IMAGES[@]}"; do
  if [ -n "$verified_images" ]; then
    allowed+=("$login_server/btc-price/$name@${IMAGE_DIGESTS[$name]}")
  else
    allowed+=("$login_server/btc-price/$name:$tag")
  fi
done
for image in "${allowed[@]}"; do
  grep -qxF -- "$image" <<<"$images" || die "the rendered manifests do not use $image"
done
stray=$(grep -vxF -f <(printf '%s\n' "${allowed[@]}") <<<"$images" || true)
[ -z "$stray" ] || die "images neither this commit's${verified_images:+ verified digests} nor the registry's copies: $(tr '\n' ' ' <<<"$stray")"
if grep -qE "^[[:space:]]*name: $ZERO_GUID\$" <<<"$rendered"; then
  die "the deployer RoleBindings still name the placeholder group $ZERO_GUID: set AKS_DEPLOYER_GROUP_ID (or manifests/components/settings/deployer-subject.yaml) to the object ID of the CI/CD identity's Entra group"
fi
if [ -n "$AKS_HOST" ]; then
  hosts=$(sed -n 's/^[[:space:]]*-\{0,1\}[[:space:]]*host: //p; /^[[:space:]]*dnsNames:/{n;s/^[[:space:]]*- //p}; /^[[:space:]]*hosts:/{n;s/^[[:space:]]*- //p}' <<<"$rendered" | sort -u)
  [ "$hosts" = "$AKS_HOST" ] || die "the rendered Ingresses, TLS and Certificate name other hosts than $AKS_HOST: $(tr '\n' ' ' <<<"$hosts")"
fi
note "rendered: $(grep -c '^kind:' <<<"$rendered") objects, images $(tr '\n' ' ' <<<"$images")"

step "Apply"
kubectl_run apply -k "$work"

step "Wait for the rollouts"
kubectl_run rollout status deployment/service-a --namespace service-a --timeout "$AKS_ROLLOUT_TIMEOUT"
kubectl_run rollout status deployment/service-b --namespace service-b --timeout "$AKS_ROLLOUT_TIMEOUT"

if [ -n "$GATEWAY" ]; then
  # The Gateway flavour's data plane is provisioned for the overlay's Gateway: its pods must carry
  # the labels the NetworkPolicies admit, or every request would be refused.
  step "Gateway $GATEWAY's pods carry the labels the NetworkPolicies admit"
  note "NetworkPolicy peer (manifests/components/$AKS_INGRESS_FLAVOUR/networkpolicy-peer.yaml): namespace $CONTROLLER_NAMESPACE, pods $CONTROLLER_PODS"
  deadline=$((SECONDS + AKS_SMOKE_TIMEOUT))
  while :; do
    pods=$(kq get pods --namespace "$CONTROLLER_NAMESPACE" --selector "$CONTROLLER_PODS" --output name 2>/dev/null) || pods=""
    if [ -n "$pods" ] || [ "$DRY_RUN" = true ] || [ "$SECONDS" -ge "$deadline" ]; then break; fi
    sleep 5
  done
  [ -n "$pods" ] || [ "$DRY_RUN" = true ] \
    || die "no pod in $CONTROLLER_NAMESPACE matches $CONTROLLER_PODS: the NetworkPolicies would refuse the Gateway's traffic"
  note "${pods:+matched: $(tr '\n' ' ' <<<"$pods")}${pods:-dry run: checked once the gateway pods run}"
fi

step "Smoke test through the ingress controller"
ip=$AKS_INGRESS_IP
deadline=$((SECONDS + AKS_SMOKE_TIMEOUT))
while [ -z "$ip" ]; do
  if [ -n "$GATEWAY" ]; then
    # The implementation writes the Gateway's address into its status.
    ip=$(kq get gateway "$GATEWAY" --namespace "$CONTROLLER_NAMESPACE" \
      --output 'jsonpath={.status.addresses[0].value}' 2>/dev/null) || ip=""
  else
    # The controller writes its external address into the status of the Ingresses it serves.
    for ns in service-a service-b; do
      found=$(kq get ingress --namespace "$ns" \
        --output 'jsonpath={range .items[*]}{.status.loadBalancer.ingress[*].ip}{" "}{end}' 2>/dev/null) || found=""
      ip=$(tr ' ' '\n' <<<"$found" | grep -m1 . || true)
      [ -z "$ip" ] || break
    done
  fi
  if [ -n "$ip" ] || [ "$DRY_RUN" = true ]; then break; fi
  [ "$SECONDS" -lt "$deadline" ] || die "no address in the status of ${GATEWAY:+Gateway $GATEWAY}${GATEWAY:-the Ingresses of service-a or service-b}; is the controller installed (aks/install-ingress.sh)?"
  sleep 5
done
if [ -z "$ip" ]; then
  ip="<ingress-ip>"
  note "dry run: the address is read from the status of ${GATEWAY:+Gateway }${GATEWAY:-the Ingresses} once it exists"
else
  note "ingress address $ip"
fi

# smoke PATH PATTERN: GET http://$ip PATH until it answers 200 with a body containing PATTERN.
# With a host: https://<host>, its name resolved to the controller's address (no wait for DNS), the
# certificate verified (the first one takes a minute or two to be issued).
base_url="http://$ip" resolve=()
if [ -n "$AKS_HOST" ]; then
  base_url="https://$AKS_HOST" resolve=(--resolve "$AKS_HOST:443:$ip" --resolve "$AKS_HOST:80:$ip")
fi
smoke() {
  local url="$base_url$1" pattern=$2 body="" until=$((SECONDS + AKS_SMOKE_TIMEOUT))
  show_command '?' curl --fail --silent --show-error --max-time 5 "${resolve[@]}" "$url"
  note "expect 200 with a body containing $pattern"
  [ "$DRY_RUN" = true ] && return 0
  while :; do
    if body=$(curl --fail --silent --show-error --max-time 5 "${resolve[@]}" "$url" 2>&1) && grep -qF -- "$pattern" <<<"$body"; then
      printf '%s\n' "$body" >&3
      return 0
    fi
    [ "$SECONDS" -lt "$until" ] || die "GET $url did not answer as expected within ${AKS_SMOKE_TIMEOUT}s; last answer: $body"
    sleep 5
  done
}
smoke /service1/current '"currency":"USD"'
smoke /service1/average '"average":'
smoke /service2/ '"service":"api-b"'
if [ -n "$AKS_HOST" ]; then
  https_checks "${resolve[@]}"
  check_public_dns "$AKS_HOST" "$ip"
fi

step "Isolation on the live cluster: A cannot reach B, B cannot reach A"
if [ "$AKS_CHECK_ISOLATION" != yes ]; then
  note "skipped (AKS_CHECK_ISOLATION=$AKS_CHECK_ISOLATION); the offline proof is tests/suites/manifests.sh"
  exit 0
fi

probe_image=${AKS_PROBE_IMAGE:-$(third_party_ref isolation-probe "$login_server")}
pod_a=$(live_pod service-a service-a)
pod_b=$(live_pod service-b service-b)
note "from pod A ($pod_a) to Service B: its pod IP on 8080 and its ClusterIP on 80"
probe service-a "$pod_a" "http://$(pod_ip service-b "$pod_b"):8080/service2/" "http://$(cluster_ip service-b api-b):80/service2/"
note "from pod B ($pod_b) to Service A: its pod IP on 8080 and its ClusterIP on 80"
probe service-b "$pod_b" "http://$(pod_ip service-a "$pod_a"):8080/service1/current" "http://$(cluster_ip service-a api-a):80/service1/current"

note "deployed $tag: $base_url/service1/current, $base_url/service1/average, $base_url/service2/"
