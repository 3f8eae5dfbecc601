#!/usr/bin/env bash
# The supply chain, without a registry: the dependency policy of deny.toml run by cargo-deny
# (licences, bans, crates.io only, and the RustSec advisories of the offline snapshot in
# ../shared/rustsec-advisory-db; RUSTSEC_DB=live fetches the live database instead, as the
# pipeline does); the policy itself kept strict (tests/supply-chain/policy.py: sources, bans,
# licences and their reasons, ignored advisories with a reason and a date within the cap, no path
# crate but the workspace's); each image's SBOM, made as the Dockerfile makes it, agreeing with
# the policy (sbom.py); every container image reference pinned by digest, third-party digests as
# aks/third-party-images.txt records them (pins.py); and the refresh of the pins against a local
# registry whose tag moved. Each check is shown to notice mutated copies. The dependency list
# inside each release binary and the SBOM each built image carries are checked where the images
# are built (the stack suite). See docs/supply-chain.md.
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

log "the policy stays strict: sources, bans, licences and their exceptions, ignored advisories with a reason and a date, path crates"
python3 tests/supply-chain/policy.py .

# loosened NAME FILE SED: the policy check must fail on a copy with FILE edited by SED.
loosened() {
  local mutated
  mutated=$(copy "policy-$1")
  sed -i "$3" "$mutated/$2"
  cmp -s "$2" "$mutated/$2" && die "mutation $1 changed nothing in $2"
  if python3 tests/supply-chain/policy.py "$mutated" >/dev/null 2>"$mutated.err"; then
    die "mutation $1 ($2) went unnoticed by the policy check"
  fi
  echo "  caught: $1: $(head -n 1 "$mutated.err" | sed 's/^FAILED: //' | cut -c1-140)"
}
log "the policy check notices (each loosened copy must fail it)"
yesterday=$(date -u -d yesterday +%F)
far=$(date -u -d '+200 days' +%F)
soon=$(date -u -d '+30 days' +%F)
ignore() { printf 's#^ignore = \\[\\]$#ignore = [%s]#' "$1"; }
# shellcheck disable=SC2016 # TOML text, literally
{
  mutated=$(copy policy-ignore-in-time)
  sed -i "$(ignore "{ id = \"RUSTSEC-2020-0071\", reason = \"no fix upstream; look again by $soon\" }")" "$mutated/deny.toml"
  python3 tests/supply-chain/policy.py "$mutated" >/dev/null || die "an ignore with a reason and a date within the cap was refused"
  echo "  accepted: an ignore with a reason, to look again by $soon"
  loosened expired-ignore deny.toml "$(ignore "{ id = \"RUSTSEC-2020-0071\", reason = \"no fix upstream; look again by $yesterday\" }")"
  loosened ignore-parked-too-long deny.toml "$(ignore "{ id = \"RUSTSEC-2020-0071\", reason = \"no fix upstream; look again by $far\" }")"
  loosened ignore-without-reason deny.toml "$(ignore '{ id = "RUSTSEC-2020-0071" }')"
  loosened ignore-date-only deny.toml "$(ignore "{ id = \"RUSTSEC-2020-0071\", reason = \"look again by $soon\" }")"
  loosened ignore-bare-id deny.toml "$(ignore '"RUSTSEC-2020-0071"')"
  loosened git-sources-allowed deny.toml 's/^unknown-git = "deny"$/unknown-git = "allow"/'
  loosened another-registry deny.toml 's#^allow-registry = \[\(.*\)\]$#allow-registry = [\1, "https://crates.example.org/index"]#'
  loosened a-git-source deny.toml 's#^allow-git = \[\]$#allow-git = ["https://github.com/someone/fork"]#'
  loosened wildcards-allowed deny.toml 's/^wildcards = "deny"$/wildcards = "allow"/'
  loosened duplicates-allowed deny.toml 's/^multiple-versions = "deny"$/multiple-versions = "warn"/'
  loosened openssl-unbanned deny.toml '/crate = "openssl-sys"/d'
  loosened copyleft-allowed deny.toml 's/^  "MIT",$/  "MIT",\n  "GPL-3.0",/'
  loosened exception-without-reason deny.toml '/^  # xxHash for Redis/,/^  # kept with source/d'
  loosened skip-without-reason deny.toml 's/{ crate = "base64@0.22.1", reason = "[^"]*" }/{ crate = "base64@0.22.1" }/'
  loosened yanked-allowed deny.toml 's/^yanked = "deny"$/yanked = "warn"/'
  loosened crates-patched Cargo.toml '$a [patch.crates-io]\ntokio = { path = "../tokio" }'
  # A crate built from a path outside the workspace (a vendored copy with publish = false, which
  # [licenses.private] would leave unchecked).
  mutated=$(copy policy-vendored-path-crate)
  mkdir -p "$work/vendored/src"
  printf '[package]\nname = "vendored"\nversion = "0.1.0"\nedition = "2021"\nlicense = "MIT"\npublish = false\n' >"$work/vendored/Cargo.toml"
  : >"$work/vendored/src/lib.rs"
  sed -i 's#^\[dependencies\]$#&\nvendored = { path = "../../vendored" }#' "$mutated/api-b/Cargo.toml"
  if python3 tests/supply-chain/policy.py "$mutated" >/dev/null 2>"$mutated.err"; then die "a path crate outside the workspace went unnoticed"; fi
  echo "  caught: vendored-path-crate: $(head -n 1 "$mutated.err" | sed 's/^FAILED: //' | cut -c1-140)"
}

log "each image's SBOM (cargo cyclonedx, as the Dockerfile runs it) agrees with the policy, for each platform deny.toml resolves"
require_cargo_tools cargo-cyclonedx@"$(sed -n 's/^ARG CARGO_CYCLONEDX_VERSION=//p' Dockerfile)"
sboms=$(copy sboms)
rustflags=$(sed -n 's/^ENV RUSTFLAGS="\(.*\)"$/\1/p' Dockerfile)
for target in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu; do
  (cd "$sboms" && RUSTFLAGS=$rustflags cargo cyclonedx --format json --spec-version 1.5 --target "$target" --quiet)
  mkdir -p "$sboms/$target"
  for name in api-a api-b poller; do mv "$sboms/$name/$name.cdx.json" "$sboms/$target/$name.cdx.json"; done
  python3 tests/supply-chain/sbom.py . "$target" "$sboms/$target"/{api-a,api-b,poller}.cdx.json
done

# sbom_edited NAME TARGET PYTHON: sbom.py must refuse the x86_64 SBOM of api-b edited by PYTHON
# (bom: the document; c(name): its component NAME), checked as an SBOM for TARGET.
sbom_edited() {
  local edited=$work/sbom-$1.cdx.json
  python3 - "$sboms/x86_64-unknown-linux-gnu/api-b.cdx.json" "$edited" "$3" <<'PY'
import json, sys
bom = json.load(open(sys.argv[1]))
def c(name):
    return next(x for x in bom["components"] if x["name"] == name)
exec(sys.argv[3])
json.dump(bom, open(sys.argv[2], "w"))
PY
  if python3 tests/supply-chain/sbom.py . "$2" "$edited" >/dev/null 2>"$edited.err"; then
    die "SBOM mutation $1 went unnoticed"
  fi
  echo "  caught: $1: $(head -n 1 "$edited.err" | sed 's/^FAILED: //' | cut -c1-140)"
}
log "the SBOM check notices (each edited SBOM must fail it)"
x86=x86_64-unknown-linux-gnu
sbom_edited built-for-a-platform-the-policy-skips x86_64-unknown-linux-musl 'pass'
sbom_edited licence-the-policy-denies $x86 'c("tokio")["licenses"] = [{"expression": "GPL-3.0-only"}]'
sbom_edited exception-of-another-crate $x86 'c("tokio")["licenses"] = [{"expression": "BSL-1.0"}]'
sbom_edited component-without-purl $x86 'del c("tokio")["purl"]'
sbom_edited purl-of-another-crate $x86 'c("tokio")["purl"] = "pkg:cargo/tokyo@1.0.0"'
sbom_edited component-without-scope $x86 'del c("tokio")["scope"]'
sbom_edited component-left-out $x86 'bom["components"] = [x for x in bom["components"] if x["name"] != "tokio"]'
sbom_edited windows-only-crate-listed $x86 'bom["components"].append(dict(c("tokio"), name="windows-sys", version="0.61.2", purl="pkg:cargo/windows-sys@0.61.2"))'
sbom_edited path-crate-not-ours $x86 'c("tokio")["purl"] = "pkg:cargo/tokio@" + c("tokio")["version"] + "?download_url=file://../vendor/tokio"'

log "every image reference is pinned by digest (Dockerfiles, compose files, kustomizations rendered and their images: entries, other YAML, aks/ scripts), third-party digests as the list records them"
python3 tests/supply-chain/pins.py check .

# unpinned NAME FILE SED: the pin check must fail on a copy with FILE edited by SED.
unpinned() {
  local mutated
  mutated=$(copy "pins-$1")
  sed -i "$3" "$mutated/$2"
  cmp -s "$2" "$mutated/$2" && die "mutation $1 changed nothing in $2"
  if python3 tests/supply-chain/pins.py check "$mutated" >/dev/null 2>"$mutated.err"; then
    die "mutation $1 ($2) went unnoticed by the pin check"
  fi
  echo "  caught: $1: $(head -n 1 "$mutated.err" | sed 's/^FAILED: //' | cut -c1-140)"
}
# added NAME FILE TEXT: the pin check must fail on a copy with FILE (TEXT) added.
added() {
  local mutated
  mutated=$(copy "pins-$1")
  mkdir -p "$(dirname "$mutated/$2")"
  printf '%s\n' "$3" >"$mutated/$2"
  if python3 tests/supply-chain/pins.py check "$mutated" >/dev/null 2>"$mutated.err"; then
    die "mutation $1 (a new $2) went unnoticed by the pin check"
  fi
  echo "  caught: $1: $(head -n 1 "$mutated.err" | sed 's/^FAILED: //' | cut -c1-140)"
}
log "the pin check notices (each mutated copy must fail it)"
# shellcheck disable=SC2016 # Dockerfile and compose text, literally
{
  unpinned compose-redis-by-tag docker-compose.yml '/REDIS_IMAGE/s#@sha256:[0-9a-f]*##'
  unpinned build-base-by-tag Dockerfile '/^ARG RUST_IMAGE=/s#@sha256:[0-9a-f]*##'
  unpinned kind-registry-by-tag aks/kind/create-cluster.sh '/REGISTRY_IMAGE=/s#@sha256:[0-9a-f]*##'
  unpinned overlays-redis-by-tag manifests/components/settings/kustomization.yaml '/^    digest: /d'
  unpinned redis-digest-edited-in-compose docker-compose.yml '/REDIS_IMAGE/s#@sha256:[0-9a-f]\{8\}#@sha256:00000000#'
  unpinned dockerfile-syntax-by-tag Dockerfile '1i # syntax=docker/dockerfile:1'
  unpinned copy-from-an-image Dockerfile '/^FROM scratch AS api-a$/a COPY --from=busybox:1.37.0 /bin/busybox /bin/busybox'
  unpinned run-mount-from-an-image Dockerfile '/^FROM dependencies AS builder$/a RUN --mount=type=bind,from=alpine:3.20,target=/mnt true'
  unpinned from-an-arg-not-named-image Dockerfile '/^FROM scratch AS api-b$/i ARG BASE=debian:bookworm-slim\nFROM ${BASE} AS extra'
  unpinned kind-node-in-config aks/kind/cluster.yaml 's/^  - role: control-plane$/&\n    image: kindest\/node:v1.35.1/'
  unpinned lookalike-of-a-project-image docker-compose.yml 's#image: btc-price/poller:${IMAGE_TAG:-local}#image: evil.example/btc-price/poller:latest#'
  # The list's note of the redis index (what compose and the base pin) says another digest.
  unpinned redis-index-note-lies aks/third-party-images.txt '/8.10-alpine.md/,+1s/sha256:ba6e[0-9a-f]*/sha256:7a3ebe5bfd1a4a19797d20b0c0bb39d44393e9a03fd852c0865b0f540d868df0/'
  unpinned overlay-redis-digest-of-another-image manifests/components/settings/kustomization.yaml 's/^    digest: sha256:.*/    digest: sha256:7a3ebe5bfd1a4a19797d20b0c0bb39d44393e9a03fd852c0865b0f540d868df0/'
  added another-dockerfile tests/stack/base-images/extra.Dockerfile 'FROM alpine:3.20'
  added a-containerfile tools/Containerfile 'FROM alpine:3.20'
  added another-compose-file compose.override.yml $'services:\n  extra:\n    image: alpine:3.20'
  added a-component-by-tag manifests/components/extra/kustomization.yaml $'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nimages:\n  - name: docker.io/library/redis\n    newTag: 8.10-alpine'
  added a-manifest-outside-kustomize aks/extra/pod.yaml $'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: x\n      image: alpine:3.20'
}

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
