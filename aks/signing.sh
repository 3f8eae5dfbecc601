# shellcheck shell=bash
# What the pipeline builds, signs and verifies (sourced by lib.sh, never run): the project's images,
# the identity that must have signed them, and the image lists that carry their digests from one
# step to the next: aks/deploy.sh --build-only writes the digests it built, aks/sign-images.sh signs
# exactly those, aks/verify-images.sh writes the digests it verified, and aks/deploy.sh
# --verified-images deploys exactly those. docs/supply-chain.md.

# The images built from the Dockerfile, one per runtime target, in the registry as btc-price/<name>.
PROJECT_IMAGES=(api-a api-b poller)

# The signer: this repository's delivery workflow on main, as GitHub's OIDC issuer names it in the
# Sigstore certificate (the job's job_workflow_ref) and in the build provenance.
SIGNER_WORKFLOW=.github/workflows/ci-cd.yml
SIGNER_REF=refs/heads/main
# shellcheck disable=SC2034 # read by aks/verify-images.sh
OIDC_ISSUER=https://token.actions.githubusercontent.com

# signer_identity REPOSITORY: the certificate identity of REPOSITORY's pipeline on main.
signer_identity() { printf 'https://github.com/%s/%s@%s' "$1" "$SIGNER_WORKFLOW" "$SIGNER_REF"; }

# require_programs NAME...: each NAME runs the program found on PATH, not a shell function, alias
# or builtin of that name (one sourced from a file the checkout holds could report a refused
# verification as a success).
require_programs() {
  local name what
  for name in "$@"; do
    what=$(type -t "$name" || true)
    [ "$what" = file ] || die "$name is a shell ${what:-nothing} here, not the program on PATH: refusing to go on"
  done
}

# read_image_list FILE LOGIN_SERVER: FILE names each of PROJECT_IMAGES once, as
# LOGIN_SERVER/btc-price/<name>@sha256:<digest>, and nothing else; sets IMAGE_DIGESTS[name].
declare -A IMAGE_DIGESTS=()
read_image_list() {
  local file=$1 server=$2 line rest name
  IMAGE_DIGESTS=()
  [ -s "$file" ] || die "$file: no list of images (the step that writes it did not finish): refusing to go on"
  while IFS= read -r line; do
    rest=${line#"$server/btc-price/"}
    if [ "$rest" = "$line" ] || ! [[ $rest =~ ^([a-z0-9-]+)@(sha256:[0-9a-f]{64})$ ]]; then
      die "$file: '$line' is not $server/btc-price/<name>@sha256:<digest>"
    fi
    name=${BASH_REMATCH[1]}
    [[ " ${PROJECT_IMAGES[*]} " == *" $name "* ]] || die "$file: btc-price/$name is not one of ${PROJECT_IMAGES[*]}"
    [ -z "${IMAGE_DIGESTS[$name]:-}" ] || die "$file: btc-price/$name is listed twice"
    IMAGE_DIGESTS[$name]=${BASH_REMATCH[2]}
  done <"$file"
  for name in "${PROJECT_IMAGES[@]}"; do
    [ -n "${IMAGE_DIGESTS[$name]:-}" ] || die "$file: btc-price/$name is missing: refusing to go on"
  done
}

# write_image_list FILE REFERENCE...: the list, whole or not at all: a reader never sees a partial
# one, and a run that fails before this leaves no list (see discard_image_list).
write_image_list() {
  local file=$1
  shift
  printf '%s\n' "$@" >"$file.partial"
  mv "$file.partial" "$file"
}

# discard_image_list FILE: an earlier list is gone before any work, so that a run that stops
# half-way cannot leave the previous run's list for the next step.
discard_image_list() { rm -f "$1" "$1.partial"; }
