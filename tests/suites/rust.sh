#!/usr/bin/env bash
# Formatting, lints and every Rust test (unit, in-process, real binaries). The dependency policy
# (no OpenSSL, licences, sources, advisories) is deny.toml's, run by the supply-chain suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

command -v cargo >/dev/null || die "cargo not found: install Rust with https://rustup.rs"
# The services' tests run a real redis-server on a free port.
require_packages redis-server:redis-server

log "cargo fmt --check"
cargo fmt --all --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

log "cargo test"
cargo test --workspace --locked
