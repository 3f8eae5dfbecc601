#!/usr/bin/env bash
# The API contract: Schemathesis (pinned, in its own virtualenv) fuzzes each service
# from the OpenAPI document it serves, with every check on, against the release binaries, a real
# redis-server, a fake exchange and a real nginx running gateway/nginx.conf: directly and through
# the gateway, api-a in each of its states (no price yet, price available, Redis hanging, Redis
# down). Then tampered copies of api-a's document must each fail the check they target. Prints a
# table of the runs and the requests sent. CONTRACT_EXAMPLES=1000 for a long local run (default
# 50); see tests/contract/__main__.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

command -v cargo >/dev/null || die "cargo not found: install Rust with https://rustup.rs"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "the contract suite needs Python 3.11 or newer"
require_packages redis-server:redis-server nginx:nginx
# Schemathesis needs pytest 8.4+, hence packaging >= 24, which checkov (in .venv) pins below 24: a
# virtualenv of its own.
PIP_TOOLS_VENV=.venv-contract require_pip_tools schemathesis==4.32.5

log "the contract suite's own tests"
PYTHONPATH=tests python3 -m unittest discover --start-directory tests/contract --top-level-directory tests

log "Schemathesis against the release binaries, directly and through the gateway (release binaries are built first)"
PYTHONPATH=tests python3 -m contract
