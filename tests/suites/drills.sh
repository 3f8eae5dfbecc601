#!/usr/bin/env bash
# The reliability drills, against the release binaries, a real redis-server, a real nginx running
# gateway/nginx.conf, wrk and a fake exchange, and (connection-cap) the images built from the
# Dockerfile under Docker with the manifests' memory limit; prints one table and fails if any
# drill fails. DRILLS=name,... runs some of them; SOAK_SECONDS=600 soaks for longer (30 s by
# default); DRILLS_LONG=1 drills every combination (local runs). See tests/drills/test_drills.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh
source tests/stack/docker.sh

command -v cargo >/dev/null || die "cargo not found: install Rust with https://rustup.rs"
require_packages redis-server:redis-server nginx:nginx wrk:wrk faketime:faketime
require_python_env

# The connection-cap drill runs the images: a Docker engine (started here where none answers)
# and the base image the Dockerfile builds FROM (a local stand-in where no registry answers).
if [ -z "${DRILLS:-}" ] || [[ ",${DRILLS// /}," == *",connection-cap,"* ]]; then
  ensure_docker
  tests/stack/base-images.sh "$(printf '%s\n' "${base_images[@]}" | grep '^rust:')"
fi

log "the harness's own tests"
pytest tests/harness

log "drills"
# Each drill's seconds at the end: the drills run alone, so their sum is a part of tests/run's time.
pytest tests/drills --durations=0 --durations-min=1 "$@"
