#!/usr/bin/env bash
# Formatting, lints, the dependency policy and every Rust test (unit, in-process, real binaries).
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

log "no OpenSSL or native-tls anywhere in the dependency tree"
if cargo tree --workspace --all-features --edges all --prefix none --locked \
    | grep -E '^(openssl-sys|openssl|native-tls) '; then
  die "OpenSSL crept into the dependency tree (see above); use rustls"
fi

log "cargo test"
cargo test --workspace --locked
