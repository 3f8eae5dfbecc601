#!/usr/bin/env bash
# The benchmark suite in its smoke mode (bench/run --smoke, about a minute and a half once the
# release binaries are built): every target, window and footprint figure of the full run, a few
# seconds each, so the benchmark never rots. It fails when a measurement cannot be trusted
# (errors under load, idle connections not held, a service not ready), never on a goal.
# The benchmark's own tests (goals, ratios, the report) run first.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "the benchmark needs Python 3.11 or newer"

log "the benchmark's own tests"
PYTHONPATH=tests python3 -m unittest discover --start-directory bench --top-level-directory .

log "the benchmark, smoke mode"
bench/run --smoke
