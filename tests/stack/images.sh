#!/usr/bin/env bash
# The service images, built once for the whole of `tests/run` as `docker compose up --build`
# builds them (the Dockerfile, on the base images of tests/stack/base-images.sh), and their
# binaries copied out into target/images/ (or the directory given) for the suites that run the
# release binaries on the host. Those suites then test the very binaries that ship (static, with
# their dependency list embedded), and no second release build competes for the machine's cores:
# the Docker suites after this one find every layer in the cache. The Dockerfile's tools that the
# suites run on the host too (cargo-cyclonedx) are copied out into DIR/tools, so that a fresh
# machine compiles them once (see require_cargo_tools in tests/lib.sh).
# Usage: tests/stack/images.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh
source tests/stack/docker.sh

out=${1:-target/images}
ensure_docker
tests/stack/base-images.sh "${base_images[@]}"
mkdir -p "$out"
for target in api-a api-b poller; do
  log "image btc-price/$target:local"
  docker build -q --build-arg RUST_IMAGE --target "$target" -t "btc-price/$target:local" . >/dev/null
  container=$(docker create "btc-price/$target:local")
  docker cp "$container:/usr/local/bin/$target" "$out/$target.new"
  docker rm "$container" >/dev/null
  mv "$out/$target.new" "$out/$target"
  echo "  $out/$target"
done
# The chef stage: built for the dependency layer already, so it comes from the cache.
chef=$(docker build -q --build-arg RUST_IMAGE --target chef .)
mkdir -p "$out/tools"
docker run --rm --network none "$chef" bash -c 'cat "$CARGO_HOME/bin/cargo-cyclonedx"' >"$out/tools/cargo-cyclonedx.new"
chmod +x "$out/tools/cargo-cyclonedx.new"
mv "$out/tools/cargo-cyclonedx.new" "$out/tools/cargo-cyclonedx"
echo "  $out/tools/cargo-cyclonedx"
