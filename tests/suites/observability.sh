#!/usr/bin/env bash
# Observability: what observability/ ships, checked by promtool (config, rules, the
# rules' unit tests), the dashboard and docs/operations.md checked against the rules, the compose
# profile checked on its rendered config; then live, against the release binaries and Debian's
# Prometheus (tests/observability/__main__.py): targets up, alerts firing on faults and
# resolving, timed, and every dashboard query returning data; last, the compose profile brought
# up for real (Docker) and checked through its Prometheus. OBSERVABILITY_LONG=1 fires the other
# alerts live too (about six minutes more).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

command -v cargo >/dev/null || die "cargo not found: install Rust with https://rustup.rs"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "the live test needs Python 3.11 or newer"
require_packages prometheus:prometheus prometheus:promtool redis-server:redis-server
if ! docker compose version >/dev/null 2>&1; then require_packages docker-compose:docker-compose; fi
PIP_TOOLS_VENV=.venv-observability require_pip_tools PyYAML==6.0.3

# compose ARG...: docker compose v2 where installed, else v1 (Debian's docker-compose); both
# render and validate the file without a Docker engine.
compose() {
  if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi
}

log "promtool check config and check rules"
promtool check config observability/prometheus.yml
promtool check rules observability/alerts.yaml

log "promtool test rules: each alert fires on its series and stays quiet on a healthy one"
promtool test rules observability/tests/*.test.yaml

log "the dashboard, docs/operations.md and the live test's rendering (no service needed)"
PYTHONPATH=tests python3 -m unittest discover --start-directory tests/observability --top-level-directory tests

log "the compose profile: docker-compose.yml --profile observability, rendered"
rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
compose -f docker-compose.yml config -q
compose -f docker-compose.yml --profile observability config -q
compose -f docker-compose.yml --profile observability config >"$rendered"
PYTHONPATH=tests python3 -m observability.compose_profile "$rendered"

log "live: release binaries, a fake exchange, Redis and Prometheus (release binaries are built first)"
PYTHONPATH=tests python3 -m observability

log "the compose profile for real, with the stack suite's fake upstream"
source tests/stack/docker.sh
ensure_docker
prometheus_image=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["services"]["prometheus"]["image"])' "$rendered")
tests/stack/base-images.sh "${base_images[@]}" "$prometheus_image"
export GATEWAY_PORT=28180 PROMETHEUS_PORT=28190 IMAGE_TAG=observability-test
stack() {
  compose -p btcprice-observability-test -f docker-compose.yml -f tests/stack/compose.test.yml \
    --profile observability "$@"
}
cleanup() {
  local status=$?
  if [ $status -ne 0 ]; then stack logs --tail=20 prometheus poller api-a 2>&1 || true; fi
  stack down --volumes --remove-orphans >/dev/null 2>&1 || true
  rm -f "$rendered"
  exit $status
}
trap cleanup EXIT
stack up -d --build
PYTHONPATH=tests python3 -m observability.compose_run "http://127.0.0.1:$PROMETHEUS_PORT" "http://127.0.0.1:$GATEWAY_PORT"
