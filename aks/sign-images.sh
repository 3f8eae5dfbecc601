#!/usr/bin/env bash
# The build job's signatures: signs each image this run built, by the digest its build reported
# (the list aks/deploy.sh --build-only --built-images FILE wrote), never by what a tag names now,
# so an image pushed under the commit's tag by anyone else is never signed; attaches the SBOM the
# image carries as a signed CycloneDX attestation (cosign, keyless: the workflow's OIDC identity).
# With --lock, afterwards, locks each commit tag once it is checked to still name the signed digest.
set -euo pipefail
# shellcheck source=aks/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

declare_registry_knob
knob AKS_IMAGE_TAG "" "the images' tag, the commit (required with --lock)" image_tag

print_usage() {
  usage "aks/sign-images.sh [--dry-run] [--lock] FILE [-h]" \
"Signs each image of FILE (the images aks/deploy.sh --build-only --built-images FILE built, as
<registry>/btc-price/<name>@sha256:<digest>, one per line) with cosign sign, and attests the SBOM it
carries (/usr/share/sbom/<name>.cdx.json) with cosign attest --type cyclonedx; in a GitHub Actions
job the registry and each digest become step outputs (registry, ${PROJECT_IMAGES[*]}).
  --lock     instead: lock each tag btc-price/<name>:AKS_IMAGE_TAG (az acr repository update
             --write-enabled false --delete-enabled false) after checking it names FILE's digest
  --dry-run  print the commands that would change something instead of running them
  -h         this help"
}

parse_common_args "$@"
lock=false list=""
for arg in "${ARGS[@]}"; do
  case $arg in
    --lock) lock=true ;;
    -*) die "unexpected argument: $arg (see -h)" ;;
    *) [ -z "$list" ] || die "one list of images, not '$list' and '$arg'"; list=$arg ;;
  esac
done
[ -n "$list" ] || die "name the list of built images (aks/deploy.sh --build-only --built-images FILE)"
[ "$lock" = false ] || [ -n "$AKS_IMAGE_TAG" ] || die "--lock needs AKS_IMAGE_TAG, the commit tag to lock"
if [ "$lock" = true ]; then require_tools az; else require_tools az cosign docker; fi
announce_mode
require_az_version

step "Registry"
resolve_acr_name
show_settings
login_server=$(registry_login_server)
note "registry $login_server"
read_image_list "$list" "$login_server"

if [ "$lock" = true ]; then
  step "Lock the commit's tags, each still naming the digest signed"
  for name in "${PROJECT_IMAGES[@]}"; do
    tag=btc-price/$name:$AKS_IMAGE_TAG
    current=$(registry_digest "$tag")
    [ "$current" = "${IMAGE_DIGESTS[$name]}" ] \
      || die "$tag names ${current:-nothing}, not ${IMAGE_DIGESTS[$name]}, the digest this run built and signed: someone moved it; not locking it"
    run az acr repository update --name "$AKS_ACR_NAME" --image "$tag" --write-enabled false --delete-enabled false
  done
  exit 0
fi

run az acr login --name "$AKS_ACR_NAME"
sboms=$(mktemp -d "${TMPDIR:-/tmp}/btc-price-sboms.XXXXXX")
trap 'rm -rf "$sboms"' EXIT
[ -z "${GITHUB_OUTPUT:-}" ] || echo "registry=$login_server" >>"$GITHUB_OUTPUT"
step "Sign each built image and attest the SBOM it carries"
for name in "${PROJECT_IMAGES[@]}"; do
  image=$login_server/btc-price/$name@${IMAGE_DIGESTS[$name]}
  # The SBOM the image itself carries, from its build: the attestation says what is inside this digest.
  run docker pull --quiet "$image"
  container=$(run docker create "$image")
  run docker cp "${container:-<container>}:/usr/share/sbom/$name.cdx.json" "$sboms/$name.cdx.json"
  run docker rm "${container:-<container>}"
  run cosign sign --yes "$image"
  run cosign attest --yes --type cyclonedx --predicate "$sboms/$name.cdx.json" "$image"
  [ -z "${GITHUB_OUTPUT:-}" ] || echo "$name=${IMAGE_DIGESTS[$name]}" >>"$GITHUB_OUTPUT"
done
