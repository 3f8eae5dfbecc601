# shellcheck shell=bash
# What is inside each service image, checked on the images the stack suite built (sourced by
# tests/suites/stack.sh after tests/lib.sh): the dependency list cargo auditable put in each
# binary names exactly what Cargo.lock resolves for it, and the SBOM the image carries lists every
# one of those crates with its version and licence (tests/supply-chain/inventory.py).

# image_files NAME DIR: the binary and the SBOM of btc-price/NAME:$IMAGE_TAG, copied into DIR.
image_files() {
  local container
  container=$(docker create "btc-price/$1:$IMAGE_TAG")
  docker cp "$container:/usr/local/bin/$1" "$2/$1" >/dev/null
  docker cp "$container:/usr/share/sbom/$1.cdx.json" "$2/$1.cdx.json" >/dev/null
  docker rm "$container" >/dev/null
}

# image_target NAME: the Rust target the image's binary was built for.
image_target() {
  case "$(docker image inspect -f '{{.Architecture}}' "btc-price/$1:$IMAGE_TAG")" in
    amd64) echo x86_64-unknown-linux-gnu ;;
    arm64) echo aarch64-unknown-linux-gnu ;;
    *) die "btc-price/$1: no Rust target known for its architecture" ;;
  esac
}

# images_carry_their_inventory WORK_DIR
images_carry_their_inventory() {
  local dir=$1/inventory name target
  require_cargo_tools rust-audit-info@0.5.4
  mkdir -p "$dir"
  for name in api-a api-b poller; do
    image_files "$name" "$dir"
    python3 tests/supply-chain/inventory.py . "$(image_target "$name")" "$dir/$name" "$dir/$name.cdx.json"
  done
  # The check notices an SBOM that leaves a crate out, and a binary built from another lock file.
  target=$(image_target poller)
  python3 - "$dir/poller.cdx.json" "$dir/without-tokio.cdx.json" <<'PY'
import json, sys
bom = json.load(open(sys.argv[1]))
bom["components"] = [c for c in bom["components"] if c["name"] != "tokio"]
json.dump(bom, open(sys.argv[2], "w"))
PY
  if python3 tests/supply-chain/inventory.py . "$target" "$dir/poller" "$dir/without-tokio.cdx.json" >/dev/null 2>&1; then
    die "an SBOM without tokio went unnoticed"
  fi
  echo "  caught: the poller's SBOM without tokio"
  sed '/^name = "tokio"$/{n;s/^version = ".*"$/version = "1.0.0"/}' Cargo.lock >"$dir/Cargo.lock"
  cmp -s Cargo.lock "$dir/Cargo.lock" && die "the Cargo.lock edit changed nothing"
  if python3 tests/supply-chain/inventory.py . "$target" "$dir/poller" "$dir/poller.cdx.json" "$dir/Cargo.lock" >/dev/null 2>&1; then
    die "a binary built from another Cargo.lock (tokio) went unnoticed"
  fi
  echo "  caught: the poller against a Cargo.lock with another tokio"
}
