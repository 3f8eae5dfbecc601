#!/usr/bin/env bash
# Makes sure the base images the Dockerfile and docker-compose.yml start FROM exist locally under
# their name:tag: the pinned image (name:tag@sha256:...) pulled and tagged where a registry is
# reachable, otherwise a stand-in built here under that name (CI has no registry).
# Usage: tests/stack/base-images.sh PINNED-IMAGE...
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

here=tests/stack/base-images
# The Debian the stand-ins start FROM (their Dockerfiles take it as DEBIAN_IMAGE).
debian_pinned=$(python3 tests/supply-chain/pins.py overrides . | awk '$1 == "DEBIAN_IMAGE" { print $2 }')
debian=${debian_pinned%@*}

build_debian() {
  require_packages debootstrap:debootstrap
  local rootfs
  rootfs=$(mktemp -d)
  log "debootstrap bookworm (stand-in for debian:bookworm-slim)"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$debian" >/dev/null
  rm -rf "$rootfs"
}

build_rust() {
  local image=$1 context sysroot
  context=$(mktemp -d)
  sysroot=$(rustc --print sysroot)
  mkdir "$context/toolchain"
  cp -a "$sysroot/bin" "$sysroot/lib" "$context/toolchain/"
  cp /etc/ssl/certs/ca-certificates.crt "$context/"
  docker build -q -t "$image" --build-arg DEBIAN_IMAGE="$debian" -f "$here/rust.Dockerfile" "$context" >/dev/null
  rm -rf "$context"
}

# stand_in RECIPE IMAGE: builds the stand-in RECIPE.Dockerfile as IMAGE.
stand_in() {
  ensure "$debian_pinned"
  docker build -q -t "$2" --build-arg DEBIAN_IMAGE="$debian" -f "$here/$1.Dockerfile" "$here" >/dev/null
}

# ensure PINNED-IMAGE: PINNED-IMAGE's name:tag exists locally.
ensure() {
  local image=${1%@*}
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  if docker pull -q "$1" >/dev/null 2>&1; then
    docker tag "$1" "$image"
    return 0
  fi
  log "building a local stand-in for $image (no registry reachable)"
  case "$image" in
    debian:*) build_debian ;;
    rust:*) ensure "$debian_pinned"; build_rust "$image" ;;
    redis:*) stand_in redis "$image" ;;
    nginx:*) stand_in nginx "$image" ;;
    prom/prometheus:*) stand_in prometheus "$image" ;;
    *) die "no stand-in recipe for $image" ;;
  esac
}

for image in "$@"; do ensure "$image"; done
