#!/usr/bin/env bash
# The benchmark suite in its smoke mode (bench/run --smoke, about a minute once the
# release binaries are built): every target, window and footprint figure of the full run, a few
# seconds each, so the benchmark never rots. It fails when a measurement cannot be trusted
# (errors under load, idle connections not held, a service not ready), never on a goal.
# The benchmark's own tests (goals, ratios, the report) run first.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

require_python_env

log "the benchmark's own tests"
pytest bench

log "the benchmark, smoke mode"
bench/run --smoke
