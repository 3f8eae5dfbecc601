#!/usr/bin/env bash
# Formatting, lints and every Rust test (unit, in-process, real binaries). The dependency policy
# (no OpenSSL, licences, sources, advisories) is deny.toml's, run by the supply-chain suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

command -v cargo >/dev/null || die "cargo not found: install Rust with https://rustup.rs"
# The services' tests run a real redis-server on a free port; service-kit's read the kernel's
# accounting of each socket's buffers with ss.
require_packages redis-server:redis-server iproute2:ss

log "cargo fmt --check"
cargo fmt --all --check

# `cargo clippy --all-targets` checks every crate, the dependencies included, and `cargo test`
# then compiles them all again: twice the work for the same crates. Instead the test build runs
# clippy-driver as the workspace's compiler, which is how `cargo clippy` runs it (cargo applies
# RUSTC_WORKSPACE_WRAPPER to the workspace's crates only; CLIPPY_ARGS carries the `-- -D
# warnings`): the same lints on the same targets (lib, bins, tests, examples), the dependencies
# compiled once, no test run if a lint fails.
clippy_driver=$(command -v clippy-driver || echo "$(rustc --print sysroot)/bin/clippy-driver")
[ -x "$clippy_driver" ] || die "clippy-driver not found: rustup component add clippy"
log "cargo test, its build linted as cargo clippy --all-targets --all-features -- -D warnings"
RUSTC_WORKSPACE_WRAPPER=$clippy_driver CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__ \
  cargo test --workspace --all-features --locked
