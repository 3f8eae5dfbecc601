#!/usr/bin/env bash
# Service A's web page in a real browser: Playwright drives Debian's Chromium against
# the release binaries of the poller and api-a, a real redis-server, a fake exchange and the
# repository's gateway on real nginx; axe-core checks accessibility inside the page.
# Screenshots of every state go to target/browser/ (CI keeps that folder). See tests/browser/.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

command -v cargo >/dev/null || die "cargo not found: install Rust with https://rustup.rs"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "the browser tests need Python 3.11 or newer"
# Playwright's own browser download cannot work without the internet: it drives Debian's.
require_packages chromium:chromium redis-server:redis-server nginx:nginx npm:npm

# Playwright's dependencies are its own: a virtualenv of its own.
PIP_TOOLS_VENV=.venv-browser require_pip_tools playwright==1.65.2

log "axe-core (npm, as pinned in tests/browser/package-lock.json)"
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

log "the page in Chromium (release binaries are built first)"
PYTHONPATH=tests python -m browser "$@"
