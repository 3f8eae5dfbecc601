#!/usr/bin/env bash
# The supply chain, without a registry: the dependency policy of deny.toml run by cargo-deny
# (licences, bans, crates.io only, and the RustSec advisories of the offline snapshot in
# ../shared/rustsec-advisory-db; RUSTSEC_DB=live fetches the live database instead, as the
# pipeline does), every ignored advisory with a reason and a date still ahead, and every container
# image reference pinned by digest; each check is shown to notice a mutated copy. The dependency
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
require_packages git:git
require_cargo_tools cargo-deny@0.20.2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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
  git -C "$db_root/$db_folder" -c user.name=snapshot -c user.email=snapshot@localhost commit -q -m "$(head -n 1 "$snapshot/SNAPSHOT.md")"
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
sed -i 's#^ignore = \[\]$#ignore = [{ id = "RUSTSEC-2020-0071", reason = "no fix upstream; look again by 2020-01-01" }]#' "$mutated/deny.toml"
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
