#!/usr/bin/env bash
# Observability: what observability/ ships, checked by promtool (config, rules, the
# rules' unit tests), the dashboard and docs/operations.md checked against the rules, the compose
# profile checked on its rendered config and brought up for real (Docker), checked through its
# Prometheus; live, against the release binaries and Debian's Prometheus
# (tests/observability/test_live.py): targets up, alerts firing on faults and resolving, timed,
# and every dashboard query returning data. OBSERVABILITY_LONG=1 fires the other alerts live too
# (about six minutes more).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

command -v cargo >/dev/null || die "cargo not found: install Rust with https://rustup.rs"
require_packages prometheus:prometheus prometheus:promtool redis-server:redis-server
if ! docker compose version >/dev/null 2>&1; then require_packages docker-compose:docker-compose; fi
require_python_env

# The compose profile comes up for real: a Docker engine, and the base images it starts FROM
# (local stand-ins where no registry answers), Prometheus's as the rendered profile names it.
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
prometheus_image=$("${compose[@]}" -f docker-compose.yml --profile observability config \
  | python -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["services"]["prometheus"]["image"])')
source tests/stack/docker.sh
ensure_docker
tests/stack/base-images.sh "${base_images[@]}" "$prometheus_image"

log "promtool, the dashboard and docs/operations.md, the compose profile rendered and for real, the live test"
pytest tests/observability "$@"
