# shellcheck shell=bash
# The third-party images of aks/third-party-images.txt and their copies in the cluster's registry
# (sourced by lib.sh, never run).

THIRD_PARTY_LIST=$REPO_ROOT/aks/third-party-images.txt

# third_party_entries: "use copy source digest" for every listed image.
third_party_entries() { grep -Ev '^[[:space:]]*(#|$)' "$THIRD_PARTY_LIST"; }

# third_party_field USE COLUMN: the copy (2), source (3) or listed digest (4) of the image used as USE.
third_party_field() {
  local field
  field=$(awk -v use="$1" -v column="$2" '$1 == use { print $column }' < <(third_party_entries))
  [ -n "$field" ] || die "aks/third-party-images.txt lists no image for '$1'"
  printf '%s' "$field"
}

# registry_digest REPOSITORY:TAG: its digest in the registry ($AKS_ACR_NAME, or the kind cluster's
# local registry, asked over the registry API), empty when it is not there.
registry_digest() {
  if on_kind; then
    query curl --fail --silent --head --max-time 5 \
      --header "Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" \
      "http://$KIND_REGISTRY/v2/${1%:*}/manifests/${1##*:}" 2>/dev/null \
      | tr -d '\r' | sed -n 's/^docker-content-digest: *//Ip' || true
  else
    query az acr repository show --name "$AKS_ACR_NAME" --image "$1" --query digest --output tsv 2>/dev/null || true
  fi
}

# copy_image SOURCE COPY: SOURCE (repository@digest, or repository:tag where none is listed) into
# the registry as COPY, locked on ACR. On kind, skopeo copies the linux/amd64 image only (the
# runner's platform; a digest-pinned source is that image already) with its digest unchanged;
# the local registry has no locks.
copy_image() {
  if on_kind; then
    run skopeo --override-os linux --override-arch amd64 copy --preserve-digests --dest-tls-verify=false \
      "docker://$1" "docker://$KIND_REGISTRY/$2"
  else
    run az acr import --name "$AKS_ACR_NAME" --source "$1" --image "$2"
    lock_copy "$2"
  fi
}

# lock_copy COPY: the ACR tag can no longer be moved or the image deleted, so the copy stays what
# it was.
lock_copy() {
  run az acr repository update --name "$AKS_ACR_NAME" --image "$1" --write-enabled false --delete-enabled false
}

# copy_locked COPY: whether the ACR's copy can be neither overwritten nor deleted.
copy_locked() {
  query az acr repository show --name "$AKS_ACR_NAME" --image "$1" \
    --query "changeableAttributes.{write: writeEnabled, delete: deleteEnabled}" --output json \
    | jq -e '.write == false and .delete == false' >/dev/null
}

# ensure_third_party_images: each listed image copied into the registry (by digest where one is
# listed) and locked, unless the copy exists; an existing copy must have the listed digest, and is
# locked if it is not (a run interrupted between the import and the lock).
ensure_third_party_images() {
  local use copy source digest found
  while read -r use copy source digest; do
    found=$(registry_digest "$copy")
    if [ -n "$found" ]; then
      [ "$digest" = - ] || [ "$found" = "$digest" ] \
        || die "$copy in the registry is $found, not $digest as aks/third-party-images.txt says"
      if on_kind; then
        note "$copy ($use) exists, $found, unchanged (the kind registry has no locks)"
      elif copy_locked "$copy"; then
        note "$copy ($use) exists, $found, locked, unchanged"
      else
        note "$copy ($use) exists, $found, but is not locked (a run stopped before locking it): locking it"
        lock_copy "$copy"
      fi
      continue
    fi
    if [ "$digest" = - ]; then
      copy_image "$source" "$copy"
    else
      copy_image "${source%:*}@$digest" "$copy"
    fi
  done < <(third_party_entries)
}

# third_party_ref USE LOGIN_SERVER: the registry copy of the image used as USE, by digest
# (LOGIN_SERVER/third-party/...@sha256:...). The digest is the registry's; it must equal the listed
# one where there is one. A dry run before the copy exists uses the listed digest (or a placeholder).
third_party_ref() {
  local copy digest found
  copy=$(third_party_field "$1" 2)
  digest=$(third_party_field "$1" 4)
  found=$(registry_digest "$copy")
  if [ -z "$found" ]; then
    [ "$DRY_RUN" = true ] || die "$copy is not in the registry: run aks/create-cluster.sh (or aks/kind/create-cluster.sh), which copies the third-party images"
    found=$([ "$digest" != - ] && echo "$digest" || echo "sha256:<digest of $copy>")
  elif [ "$digest" != - ] && [ "$found" != "$digest" ]; then
    die "$copy in the registry is $found, not $digest as aks/third-party-images.txt says"
  fi
  printf '%s/%s@%s' "$2" "${copy%:*}" "$found"
}
