#!/usr/bin/env bash
# Verifies that each image of a commit was built and signed by the pipeline, before anything
# deploys it: for every project image, by the digest its (locked) commit tag names in the registry,
# a cosign signature and a signed CycloneDX SBOM attestation from the delivery workflow on main
# (GitHub's OIDC issuer), and SLSA build provenance from that workflow, that ref and this
# repository (gh attestation verify). Only when every image passed does it write their digests to
# the --output file, which aks/deploy.sh --verified-images deploys and nothing else.
set -euo pipefail
# shellcheck source=aks/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

declare_registry_knob
knob AKS_IMAGE_TAG "" "tag of the images to verify: the commit they were built from (required)" image_tag
knob AKS_SIGNER_REPOSITORY "" "the GitHub repository (owner/name) whose $SIGNER_WORKFLOW on $SIGNER_REF must have built and signed the images (required)" github_repository

print_usage() {
  usage "aks/verify-images.sh [--dry-run] [--output FILE] [-h]" \
"Verifies, for each of ${PROJECT_IMAGES[*]} of tag AKS_IMAGE_TAG, by the digest the registry holds:
its signature (cosign verify) and its SBOM attestation (cosign verify-attestation --type cyclonedx),
both by the certificate identity https://github.com/<AKS_SIGNER_REPOSITORY>/$SIGNER_WORKFLOW@$SIGNER_REF
and the issuer $OIDC_ISSUER, and its build provenance (gh attestation verify
--signer-workflow <AKS_SIGNER_REPOSITORY>/$SIGNER_WORKFLOW --source-ref $SIGNER_REF). Any failure
stops with '... refusing to deploy'. Needs az (logged in), cosign and gh (GH_TOKEN).
  --output FILE  write the verified references (<registry>/btc-price/<name>@sha256:...) to FILE,
                 only once every image passed; an earlier FILE is removed first
  --dry-run      print the commands that would change something (az acr login) instead of running
                 them; the verifications are read-only and run
  -h             this help"
}

# The deploy job's environment names the host for aks/deploy.sh (AKS_HOST); the verification has
# no use for it, and --host stays refused.
unset AKS_HOST
parse_common_args "$@"
output=""
set -- "${ARGS[@]}"
while [ $# -gt 0 ]; do
  case $1 in
    --output)
      [ $# -ge 2 ] || die "--output needs a file"
      output=$2
      shift ;;
    *) die "unexpected argument: $1 (see -h)" ;;
  esac
  shift
done
[ -z "$output" ] || discard_image_list "$output"
[ -n "$AKS_IMAGE_TAG" ] || die "AKS_IMAGE_TAG must name the commit whose images to verify"
[ -n "$AKS_SIGNER_REPOSITORY" ] || die "AKS_SIGNER_REPOSITORY must name the GitHub repository (owner/name) whose pipeline signs the images"
require_tools az cosign gh jq
require_programs az cosign gh
announce_mode
require_az_version

step "Registry"
resolve_acr_name
show_settings
login_server=$(registry_login_server)
note "registry $login_server"
# cosign and gh read the images' signatures and attestations from the registry with docker's
# credentials, which az acr login writes.
run az acr login --name "$AKS_ACR_NAME"

identity=$(signer_identity "$AKS_SIGNER_REPOSITORY")
step "Each image of $AKS_IMAGE_TAG: signed, SBOM attested and built by $identity"
verified=()
for name in "${PROJECT_IMAGES[@]}"; do
  digest=$(registry_digest "btc-price/$name:$AKS_IMAGE_TAG")
  [ -n "$digest" ] || die "btc-price/$name:$AKS_IMAGE_TAG is not in $AKS_ACR_NAME: refusing to deploy"
  image=$login_server/btc-price/$name@$digest
  query cosign verify --certificate-identity "$identity" --certificate-oidc-issuer "$OIDC_ISSUER" \
    "$image" >/dev/null || die "$image has no signature by $identity: refusing to deploy"
  query cosign verify-attestation --type cyclonedx --certificate-identity "$identity" \
    --certificate-oidc-issuer "$OIDC_ISSUER" "$image" >/dev/null \
    || die "$image has no SBOM attestation by $identity: refusing to deploy"
  query gh attestation verify "oci://$image" --repo "$AKS_SIGNER_REPOSITORY" --bundle-from-oci \
    --signer-workflow "$AKS_SIGNER_REPOSITORY/$SIGNER_WORKFLOW" --source-ref "$SIGNER_REF" \
    --deny-self-hosted-runners >/dev/null \
    || die "$image has no build provenance from $AKS_SIGNER_REPOSITORY/$SIGNER_WORKFLOW on $SIGNER_REF: refusing to deploy"
  note "$image: signed, SBOM attested, built by $identity"
  verified+=("$image")
done

if [ -n "$output" ]; then
  write_image_list "$output" "${verified[@]}"
  note "verified: $output (aks/deploy.sh --verified-images $output deploys these digests)"
fi
