#!/usr/bin/env bash
# The reliability drills, against the release binaries, a real redis-server, a real
# nginx running gateway/nginx.conf, wrk and a fake exchange; prints one table and fails if any
# drill fails. DRILLS=name,... runs some of them; SOAK_SECONDS=600 soaks for longer;
# DRILLS_LONG=1 drills every combination (local runs). See tests/drills/test_drills.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

command -v cargo >/dev/null || die "cargo not found: install Rust with https://rustup.rs"
require_packages redis-server:redis-server nginx:nginx wrk:wrk faketime:faketime
require_python_env

log "the harness's own tests"
pytest tests/harness

log "drills"
pytest tests/drills "$@"
