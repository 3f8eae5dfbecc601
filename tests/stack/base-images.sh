#!/usr/bin/env bash
# Makes sure the base images the Dockerfile and docker-compose.yml start FROM exist locally:
# pulled where a registry is reachable, otherwise built here under the same names (CI has no
# registry). Usage: tests/stack/base-images.sh IMAGE...
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

here=tests/stack/base-images

build_debian() {
  require_packages debootstrap:debootstrap
  local rootfs
  rootfs=$(mktemp -d)
  log "debootstrap bookworm (stand-in for debian:bookworm-slim)"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  rm -rf "$rootfs"
}

build_rust() {
  local image=$1 context sysroot
  context=$(mktemp -d)
  sysroot=$(rustc --print sysroot)
  mkdir "$context/toolchain"
  cp -a "$sysroot/bin" "$sysroot/lib" "$context/toolchain/"
  cp /etc/ssl/certs/ca-certificates.crt "$context/"
  docker build -q -t "$image" -f "$here/rust.Dockerfile" "$context" >/dev/null
  rm -rf "$context"
}

ensure() {
  local image=$1
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  docker pull -q "$image" >/dev/null 2>&1 && return 0
  log "building a local stand-in for $image (no registry reachable)"
  case "$image" in
    debian:bookworm-slim) build_debian ;;
    rust:*) ensure debian:bookworm-slim; build_rust "$image" ;;
    redis:*) ensure debian:bookworm-slim; docker build -q -t "$image" -f "$here/redis.Dockerfile" "$here" >/dev/null ;;
    nginx:*) ensure debian:bookworm-slim; docker build -q -t "$image" -f "$here/nginx.Dockerfile" "$here" >/dev/null ;;
    prom/prometheus:*) ensure debian:bookworm-slim; docker build -q -t "$image" -f "$here/prometheus.Dockerfile" "$here" >/dev/null ;;
    *) die "no stand-in recipe for $image" ;;
  esac
}

for image in "$@"; do ensure "$image"; done
