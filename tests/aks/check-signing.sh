# shellcheck shell=bash
# Checks of what signs and verifies the images (aks/deploy.sh --build-only --built-images,
# aks/sign-images.sh, aks/verify-images.sh, aks/deploy.sh --verified-images) and of the delivery
# workflow's verification and deploy steps run as GitHub runs them, against the stand-ins (cosign
# and gh answer from FAKE_SIGNED_BY, FAKE_MISSING and FAKE_PROVENANCE_REF, tests/aks/signatures.py),
# for tests/suites/aks.sh, which sources this file and provides the helpers.

readonly signer_repository=octo-org/btc-price
readonly signer=https://github.com/$signer_repository/.github/workflows/ci-cd.yml@refs/heads/main

# tag_digest NAME: the digest the registry stand-in gives btc-price/NAME:$tag (FAKE_IMAGES=present).
tag_digest() { printf 'sha256:%s' "$(printf 'built %s' "btc-price/$1:$tag" | sha256sum | cut -c1-64)"; }

# image_list FILE SEED [NAME...]: a list of the images NAME (default all three) as the build or the
# verification writes it; SEED "tag" gives each the digest its tag names, any other a digest of its own.
image_list() {
  local file=$1 seed=$2 names name
  shift 2
  names=("$@")
  [ $# -gt 0 ] || names=(api-a api-b poller)
  : >"$file"
  for name in "${names[@]}"; do
    if [ "$seed" = tag ]; then
      echo "$registry/btc-price/$name@$(tag_digest "$name")"
    else
      echo "$registry/btc-price/$name@sha256:$(printf '%s %s' "$seed" "$name" | sha256sum | cut -c1-64)"
    fi >>"$file"
  done
}

# The build builds every image, also over an existing tag, and lists the digests its builds reported;
# the signing signs those and no other, and the lock locks a tag only while it names the signed digest.
check_build_and_sign() {
  local root=$1 common=(FAKE_STATE=present "AKS_IMAGE_TAG=$tag") list=$work/built-images name digest
  echo stale >"$list"
  dry build-over-tags "$root" "${common[@]}" FAKE_IMAGES=present deploy.sh --build-only --built-images "$list"
  [ ! -e "$list" ] || { echo "the build left an earlier list of built images in place" >&2; return 1; }
  lacks build-over-tags 'not rebuilt'
  for name in api-a api-b poller; do
    cmd build-over-tags "^\\+ az acr build .*btc-price/$name:" "--image btc-price/$name:$tag " '--no-logs ' \
      "outputImages\\[\\?repository=='btc-price/$name'\\]\\.digest \\| \\[0\\]" '--output tsv '
  done

  image_list "$list" built
  dry sign "$root" "${common[@]}" FAKE_IMAGES=present "GITHUB_OUTPUT=$work/sign.outputs" sign-images.sh "$list"
  lacks sign '^\? az acr repository show'
  grep -qxF "registry=$registry" "$work/sign.outputs" || { echo "sign-images.sh: no registry output" >&2; return 1; }
  while read -r image; do
    name=${image#"$registry/btc-price/"} digest=${image#*@}
    name=${name%@*}
    cmd sign "^\\+ cosign sign .*btc-price/$name@" "^\\+ cosign sign --yes ${image//./\\.}\$"
    cmd sign "^\\+ cosign attest .*btc-price/$name@" '--type cyclonedx ' "--predicate .*/$name\\.cdx\\.json " "${image//./\\.}\$"
    cmd sign "^\\+ docker cp .*$name" ":/usr/share/sbom/$name\\.cdx\\.json'? "
    grep -qxF "$name=$digest" "$work/sign.outputs" || { echo "sign-images.sh: no output $name=$digest" >&2; return 1; }
  done <"$list"

  image_list "$work/foreign-list" built
  sed -i '1s#^[^/]*/#evil.example/#' "$work/foreign-list"
  refused sign-foreign "$root" "is not $registry/btc-price/<name>@sha256:<digest>" "${common[@]}" sign-images.sh "$work/foreign-list"
  image_list "$work/helper-list" built api-a api-b poller helper
  refused sign-helper "$root" "btc-price/helper is not one of api-a api-b poller" "${common[@]}" sign-images.sh "$work/helper-list"
  image_list "$work/short-list" built api-a api-b
  refused sign-short "$root" "btc-price/poller is missing" "${common[@]}" sign-images.sh "$work/short-list"

  image_list "$list" tag
  dry lock "$root" "${common[@]}" FAKE_IMAGES=present sign-images.sh --lock "$list"
  for name in api-a api-b poller; do
    cmd lock "^\\+ az acr repository update .*btc-price/$name:" "--image btc-price/$name:$tag " '--write-enabled false' '--delete-enabled false'
  done
  lacks lock '^\+ cosign'
  image_list "$list" built
  refused lock-moved "$root" "someone moved it; not locking it" "${common[@]}" FAKE_IMAGES=present sign-images.sh --lock "$list"
  lacks lock-moved '^\+ az acr repository update'
}

# The verification: every image signed, SBOM attested and built by the pipeline on main, or nothing
# is listed; what it lists is what the deploy deploys, and nothing else.
check_verify_images() {
  local root=$1 out=$work/verified-images case setting message n=0 name
  local common=(FAKE_STATE=present FAKE_IMAGES=present "AKS_IMAGE_TAG=$tag" "AKS_SIGNER_REPOSITORY=$signer_repository")
  dry verify "$root" "${common[@]}" verify-images.sh --output "$out"
  for name in api-a api-b poller; do
    cmd verify "^\\? cosign verify .*btc-price/$name@" "--certificate-identity ${signer//./\\.} " \
      '--certificate-oidc-issuer https://token\.actions\.githubusercontent\.com ' "btc-price/$name@$(tag_digest "$name")\$"
    cmd verify "^\\? cosign verify-attestation .*btc-price/$name@" '--type cyclonedx ' "--certificate-identity ${signer//./\\.} "
    cmd verify "^\\? gh attestation verify .*btc-price/$name@" "--repo $signer_repository " '--bundle-from-oci' \
      "--signer-workflow $signer_repository/\\.github/workflows/ci-cd\\.yml " '--source-ref refs/heads/main ' '--deny-self-hosted-runners'
  done
  image_list "$work/expected-verified" tag
  cmp -s "$out" "$work/expected-verified" || { diff "$work/expected-verified" "$out" >&2; echo "verify-images.sh listed other digests" >&2; return 1; }
  for case in "FAKE_MISSING=poller:signature|no signature by $signer: refusing to deploy" \
      "FAKE_MISSING=api-b:sbom|no SBOM attestation by $signer: refusing to deploy" \
      "FAKE_MISSING=api-a:provenance|no build provenance from $signer_repository/.github/workflows/ci-cd.yml on refs/heads/main" \
      "FAKE_SIGNED_BY=${signer%@*}@refs/pull/7/merge|no signature by" \
      "FAKE_SIGNED_BY=https://github.com/$signer_repository/.github/workflows/hotfix.yml@refs/heads/main|no signature by" \
      "FAKE_SIGNED_BY=https://github.com/someone/btc-price/.github/workflows/ci-cd.yml@refs/heads/main|no signature by" \
      "FAKE_PROVENANCE_REF=refs/heads/feature|no build provenance from"; do
    setting=${case%%|*} message=${case#*|} n=$((n + 1))
    echo stale >"$out"
    refused "verify-refused-$n" "$root" "$message" "${common[@]}" "$setting" verify-images.sh --output "$out"
    [ ! -e "$out" ] || { echo "verify-images.sh ($setting) left a list of images" >&2; return 1; }
  done
}

# The deploy of verified digests: exactly those, while the tags still name them, and no other image.
check_deploy_verified() {
  local root=$1 list=$work/deploy-verified-list name
  local common=(FAKE_KUBE_CONTEXT=btc-price-aks FAKE_IMAGES=present "AKS_IMAGE_TAG=$tag" "AKS_DEPLOYER_GROUP_ID=$group_id")
  image_list "$list" tag
  dry deploy-verified "$root" "${common[@]}" deploy.sh --skip-build --verified-images "$list"
  for name in api-a api-b poller; do
    has deploy-verified "^# +digest: $(tag_digest "$name")\$"
    has deploy-verified "^# rendered: .*$registry/btc-price/$name@$(tag_digest "$name")"
  done
  lacks deploy-verified '^# +newTag:'
  has deploy-verified '^\+ kubectl --context btc-price-aks apply -k '
  refused deploy-unverified "$root" "no list of images" "${common[@]}" deploy.sh --skip-build --verified-images "$work/no-such-list"
  image_list "$work/moved-list" built
  refused deploy-moved "$root" "refusing to deploy" "${common[@]}" deploy.sh --skip-build --verified-images "$work/moved-list"
  image_list "$work/short-list" tag api-a api-b
  refused deploy-short "$root" "btc-price/poller is missing" "${common[@]}" deploy.sh --skip-build --verified-images "$work/short-list"
  lacks deploy-short '^\+ kubectl'
  # Another image of the project's registry and repository, added by an overlay (an init container,
  # also one whose image is its first key), is neither verified nor pinned: refused.
  # (The second names api-a twice, which stops the deploy before the overlay is written.)
  local copy=$work/extra-image-root case patch
  for case in "command: [/helper]\n            image: $registry/btc-price/helper:latest|images neither this commit's verified digests nor the registry's copies" \
      "image: $registry/btc-price/api-a:latest|does not name exactly one image for btc-price/api-a"; do
    patch=${case%%|*}
    rm -rf "$copy" && mkdir -p "$copy" && cp -RL "$root/aks" "$root/manifests" "$copy/"
    printf 'patches:\n  - target:\n      kind: Deployment\n      name: service-a\n    patch: |-\n      - op: add\n        path: /spec/template/spec/initContainers\n        value:\n          - %b\n            name: warm-cache\n' \
      "$patch" >>"$copy/manifests/overlays/f5-nginx-ingress/kustomization.yaml"
    refused deploy-extra-image "$copy" "${case#*|}" "${common[@]}" deploy.sh --skip-build --verified-images "$list"
    lacks deploy-extra-image '^\+ kubectl'
  done
}

# pipeline NAME WORKFLOW [VAR=VALUE...]: the deploy job's last two steps, the verification and the
# deploy, as GitHub runs them: each step's run: text under bash -e (with --dry-run: the stand-ins
# refuse changes), the job's env and the step's from WORKFLOW (vars.* and github.* VAR=VALUE are
# repository variables and contexts, the others set as given), one after the other until one
# fails. Output in $work/NAME.out; the status is the failed step's.
pipeline() {
  local name=$1 workflow=$2 values=() extra=() arg step text status=0 step_env
  shift 2
  for arg; do if [[ $arg == vars.* || $arg == github.* ]]; then values+=("$arg"); else extra+=("$arg"); fi; done
  : >"$FAKE_LOG"
  : >"$work/$name.out"
  mkdir -p "$work/$name.runner"
  for step in -2 -1; do
    mapfile -t step_env < <("${checks[@]}" workflow-env "$workflow" deploy --step "$step" "${values[@]}")
    text=$("${checks[@]}" workflow-step "$workflow" deploy "$step")
    env "${step_env[@]}" "${extra[@]}" "RUNNER_TEMP=$work/$name.runner" bash -e -c "$text --dry-run" \
      >>"$work/$name.out" 2>&1 || { status=$?; break; }
  done
  if grep '^REFUSED' "$FAKE_LOG" >&2; then echo "$name: a step tried to change something (above)" >&2; return 1; fi
  python3 "$data/signatures.py" plan "$work/$name.out" || return 1
  return "$status"
}

# The workflow's own steps: signed images are deployed by their verified digests; one unsigned image
# stops the job at the verification, and the deploy step, were it run anyway, refuses.
check_pipeline_signatures() {
  local workflow=$1 common=(FAKE_KUBE_CONTEXT=btc-price-aks FAKE_STATE=present FAKE_IMAGES=present
    "vars.AKS_DEPLOYER_GROUP_ID=$group_id" "github.sha=$tag" "github.repository=$signer_repository") name
  pipeline pipeline-signed "$workflow" "${common[@]}" \
    || { cat "$work/pipeline-signed.out" >&2; echo "the pipeline did not deploy signed images" >&2; return 1; }
  for name in api-a api-b poller; do
    has pipeline-signed "^# rendered: .*$registry/btc-price/$name@$(tag_digest "$name")"
  done
  has pipeline-signed '^\+ kubectl --context btc-price-aks apply -k '
  if pipeline pipeline-unsigned "$workflow" "${common[@]}" FAKE_MISSING=poller:signature; then
    echo "the pipeline deployed with an unsigned poller" >&2
    return 1
  fi
  has pipeline-unsigned 'poller@sha256:[0-9a-f]{64} has no signature by .*refusing to deploy'
  lacks pipeline-unsigned '^\+ kubectl'
  local deploy_env
  mapfile -t deploy_env < <("${checks[@]}" workflow-env "$workflow" deploy --step -1 "github.sha=$tag" "vars.AKS_DEPLOYER_GROUP_ID=$group_id")
  if env "${deploy_env[@]}" FAKE_KUBE_CONTEXT=btc-price-aks FAKE_IMAGES=present "RUNNER_TEMP=$work/pipeline-unsigned.runner" \
      bash -e -c "$("${checks[@]}" workflow-step "$workflow" deploy -1) --dry-run" >"$work/pipeline-forced.out" 2>&1; then
    echo "the deploy step, run after a failed verification, deployed" >&2
    return 1
  fi
  has pipeline-forced 'no list of images .*refusing to go on'
}
