#!/usr/bin/env bash
# The supply chain, without a registry: the dependency policy of deny.toml run by cargo-deny
# (licences, bans, crates.io only, and the RustSec advisories of the offline snapshot in
# ../shared/rustsec-advisory-db; RUSTSEC_DB=live fetches the live database instead, as the
# pipeline does), every ignored advisory with a reason and a date still ahead, and every container
# image reference pinned by digest, and the refresh of the pins against a local registry whose tag
# moved; each check is shown to notice a mutated copy. The dependency
# list inside each release binary and each image's SBOM are checked where the images are built
# (the stack suite). See docs/supply-chain.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

readonly snapshot=${RUSTSEC_SNAPSHOT:-../shared/rustsec-advisory-db}
# The folder cargo-deny reads the default database from (its name derives from the database's URL;
# the snapshot's SNAPSHOT.md).
readonly db_folder=advisory-db-3157b0e258782691
readonly db_root=$PWD/target/supply-chain/advisory-dbs

command -v cargo >/dev/null || die "cargo not found: install Rust with https://rustup.rs"
command -v kubectl >/dev/null || die "kubectl not found (the pin check renders the manifests: kubectl kustomize)"
require_packages git:git skopeo:skopeo docker-registry:docker-registry
require_cargo_tools cargo-deny@0.20.2

work=$(mktemp -d)
trap '[ -z "${registry_pid:-}" ] || kill "$registry_pid" 2>/dev/null; rm -rf "$work"' EXIT

# advisory_db: the snapshot as cargo-deny opens it (a git repository of one commit), made once per
# snapshot under target/.
advisory_db() {
  [ -f "$snapshot/SNAPSHOT.md" ] \
    || die "no RustSec snapshot at $snapshot: set RUSTSEC_SNAPSHOT, or RUSTSEC_DB=live to fetch the live database"
  local stamp
  stamp=$(sha256sum "$snapshot/SNAPSHOT.md" | cut -c1-16)
  [ "$(cat "$db_root/.snapshot" 2>/dev/null)" = "$stamp" ] && return 0
  rm -rf "$db_root"
  mkdir -p "$db_root/$db_folder"
  cp -R --no-preserve=mode,ownership "$snapshot/." "$db_root/$db_folder/"
  git -C "$db_root/$db_folder" init -q
  git -C "$db_root/$db_folder" add -A
  git -C "$db_root/$db_folder" -c user.name=snapshot -c user.email=snapshot@localhost \
    commit -q -m "$(head -n 1 "$snapshot/SNAPSHOT.md")"
  echo "$stamp" >"$db_root/.snapshot"
}

# deny ROOT: cargo deny check on the workspace at ROOT with its deny.toml; offline against the
# snapshot (a copy of deny.toml pointed at it), or against the live database with RUSTSEC_DB=live.
deny() {
  if [ "${RUSTSEC_DB:-snapshot}" = live ]; then
    (cd "$1" && cargo deny --locked check)
  else
    sed "s#^\[advisories\]\$#[advisories]\ndb-path = \"$db_root\"#" "$1/deny.toml" >"$work/deny.toml"
    (cd "$1" && cargo deny --frozen --config "$work/deny.toml" check)
  fi
}

# copy NAME: a copy of the files git sees, as $work/NAME.
copy() {
  mkdir "$work/$1"
  git ls-files --cached --others --exclude-standard -z | xargs -0 cp --parents -t "$work/$1"
  echo "$work/$1"
}

log "crates from crates.io (cargo fetch --locked)"
cargo fetch --locked --quiet
[ "${RUSTSEC_DB:-snapshot}" = live ] || advisory_db

log "cargo deny check: licences, bans, sources, advisories (${RUSTSEC_DB:-snapshot} database)"
SECONDS=0
deny .
echo "  cargo deny: ${SECONDS}s"

log "ignored advisories: each with a reason and a date to look again, not yet past"
python3 tests/supply-chain/ignores.py deny.toml
mutated=$(copy ignores)
expired='{ id = "RUSTSEC-2020-0071", reason = "no fix upstream; look again by 2020-01-01" }'
sed -i "s#^ignore = \[\]\$#ignore = [$expired]#" "$mutated/deny.toml"
if python3 tests/supply-chain/ignores.py "$mutated/deny.toml" 2>/dev/null; then
  die "an ignore past its date to look again went unnoticed"
fi
echo "  caught: an ignore whose date to look again has passed"

log "every image reference is pinned by digest (Dockerfiles, compose files, rendered manifests, aks/ scripts)"
python3 tests/supply-chain/pins.py check .

# unpinned NAME FILE SED: the pin check must fail on a copy with FILE edited by SED.
unpinned() {
  local mutated
  mutated=$(copy "pins-$1")
  sed -i "$3" "$mutated/$2"
  cmp -s "$2" "$mutated/$2" && die "mutation $1 changed nothing in $2"
  if python3 tests/supply-chain/pins.py check "$mutated" >/dev/null 2>&1; then
    die "mutation $1 ($2) went unnoticed by the pin check"
  fi
  echo "  caught: $1"
}
log "the pin check notices (each mutated copy must fail it)"
unpinned compose-redis-by-tag docker-compose.yml '/REDIS_IMAGE/s#@sha256:[0-9a-f]*##'
unpinned build-base-by-tag Dockerfile '/^ARG RUST_IMAGE=/s#@sha256:[0-9a-f]*##'
unpinned kind-registry-by-tag aks/kind/create-cluster.sh '/REGISTRY_IMAGE=/s#@sha256:[0-9a-f]*##'
unpinned overlays-redis-by-tag manifests/components/settings/kustomization.yaml '/^    digest: /d'
unpinned redis-two-digests docker-compose.yml '/REDIS_IMAGE/s#@sha256:[0-9a-f]\{8\}#@sha256:00000000#'

# sample_pushed TEXT: a one-platform image index (tests/supply-chain/sample_image.py) pushed as
# $sample, printed as "index-digest linux/amd64-digest".
sample_pushed() {
  local digests
  digests=$(python3 tests/supply-chain/sample_image.py "$work/oci-$1" "$1")
  skopeo --registries-conf "$CONTAINERS_REGISTRIES_CONF" copy -q --all --preserve-digests \
    "oci:$work/oci-$1:sample" "docker://$sample"
  echo "$digests"
}

log "the refresh reads today's digests from the registry (Debian's docker-registry on loopback, a tag moved since it was pinned)"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$work/registry" "$port" >"$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 40); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.25; done
printf '[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' "$port" >"$work/registries.conf"
export CONTAINERS_REGISTRIES_CONF=$work/registries.conf
sample=127.0.0.1:$port/library/sample:1.0
read -r old_index old_amd64 < <(sample_pushed first)
read -r new_index new_amd64 < <(sample_pushed second)
refreshed=$(copy refresh)
sed -i "s#debian:bookworm-slim@sha256:[0-9a-f]*#$sample@$old_index#" "$refreshed/docker-compose.yml"
sed -i "s#^redis .*#redis third-party/library/redis:8.10-alpine $sample $old_amd64#" "$refreshed/aks/third-party-images.txt"
python3 tests/supply-chain/pins.py refresh "$refreshed" "${sample%:*}" >"$work/refresh.out"
if ! grep -qF "$old_index -> $new_index" "$work/refresh.out" || ! grep -qF "$old_amd64 -> $new_amd64" "$work/refresh.out"; then
  cat "$work/refresh.out"
  die "the refresh did not report the digests the registry serves"
fi
grep -qF "$old_index" "$refreshed/docker-compose.yml" || die "the refresh without --write changed a file"
python3 tests/supply-chain/pins.py refresh "$refreshed" --write "${sample%:*}" >/dev/null
if ! grep -qF "$sample@$new_index" "$refreshed/docker-compose.yml" \
    || ! grep -qF "$sample $new_amd64" "$refreshed/aks/third-party-images.txt"; then
  die "the refresh did not rewrite the pins (compose: index $new_index; list: linux/amd64 $new_amd64)"
fi
echo "  $sample moved from ${old_index:7:12} to ${new_index:7:12}: reported, left alone without"
echo "  --write, then rewritten (the index in compose, the linux/amd64 image ${new_amd64:7:12} in the list)"
