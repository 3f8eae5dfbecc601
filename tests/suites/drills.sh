#!/usr/bin/env bash
# The reliability drills, against the release binaries, a real redis-server, a real
# nginx running gateway/nginx.conf, wrk and a fake exchange; prints one table and fails if any
# drill fails. DRILLS=name,... runs some of them; SOAK_SECONDS=600 soaks for longer;
# DRILLS_LONG=1 drills every combination (local runs). See tests/drills/__main__.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

command -v cargo >/dev/null || die "cargo not found: install Rust with https://rustup.rs"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "the drills need Python 3.11 or newer"
require_packages redis-server:redis-server nginx:nginx wrk:wrk faketime:faketime

log "the harness's own tests"
PYTHONPATH=tests python3 -m unittest discover --start-directory tests/harness --top-level-directory tests

log "drills (release binaries are built first)"
PYTHONPATH=tests python3 -m drills
