# Shared helpers for the test suites (sourced, not run).

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# json_field NAME: the field NAME of the JSON object on stdin.
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# same_cents A B: whether two amounts in USD are equal to the cent.
same_cents() { python3 -c 'import sys; sys.exit(abs(float(sys.argv[1]) - float(sys.argv[2])) > 0.005)' "$1" "$2"; }

# install_packages PACKAGE...
# Debian packages: installed with apt-get when running as root (or with password-less sudo) on
# Debian; otherwise the exact command is printed and the suite stops.
install_packages() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ] && sudo -n true 2>/dev/null; then sudo=(sudo -n); fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ ${#sudo[@]} -gt 0 ]; }; then
    log "installing $* (apt-get)"
    if [ -z "${APT_UPDATED:-}" ]; then
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      export APT_UPDATED=1
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    die "missing tools; install them with: sudo apt-get install $*"
  fi
}

# require_packages PACKAGE:COMMAND...
# Makes sure each COMMAND exists, installing its Debian PACKAGE if it does not.
require_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair#*:}" >/dev/null 2>&1 || missing+=("${pair%%:*}")
  done
  [ ${#missing[@]} -eq 0 ] || install_packages "${missing[@]}"
}

# require_python_env
# The Python test project's environment (pyproject.toml, uv.lock), .venv, first on PATH: the
# default group (pytest, Playwright, Schemathesis, checkov and the linters), the harness installed
# as a package. Made exactly as the lock says (`uv sync --frozen`), again only when pyproject.toml
# or uv.lock changed; uv itself is bootstrapped with pip into .venv, at the version the lock pins.
require_python_env() {
  sync_python_env .venv
}

# require_python_group GROUP
# .venv-GROUP, with GROUP's tools alone (a group whose pins clash with the default one), made from
# the same lock; its tools are called by path ($PWD/.venv-GROUP/bin/...), not put on PATH.
require_python_group() {
  sync_python_env ".venv-$1" --only-group "$1"
}

# sync_python_env VENV [UV SYNC OPTION...]: see require_python_env.
sync_python_env() {
  local venv=$1 uv_version stamp
  shift
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    install_packages python3-venv
  fi
  # The machine's CA bundle (a TLS-intercepting proxy's CA may be in it), the machine's Python.
  export UV_SYSTEM_CERTS=1 UV_PYTHON_DOWNLOADS=never UV_PYTHON_PREFERENCE=only-system
  uv_version=$(sed -n 's/^ *"uv==\([0-9.]*\)",$/\1/p' pyproject.toml)
  [ -n "$uv_version" ] || die "pyproject.toml pins no uv version"
  stamp="$venv/.synced-$(cat pyproject.toml uv.lock | sha256sum | cut -c1-16)"
  if [ "$(.venv/bin/uv --version 2>/dev/null | cut -d" " -f1-2)" != "uv $uv_version" ] || [ ! -e "$stamp" ]; then
    # One at a time, from .venv's creation on: suites running side by side share the
    # environments (the stack suite starts beside the job that makes them).
    mkdir -p target
    (
      flock 9
      if [ "$(.venv/bin/uv --version 2>/dev/null | cut -d" " -f1-2)" != "uv $uv_version" ]; then
        [ -x .venv/bin/python ] || python3 -m venv .venv || die "cannot create the virtualenv .venv"
        log "installing uv $uv_version (pip, into .venv)"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$uv_version"
      fi
      if [ ! -e "$stamp" ]; then
        log "syncing $venv with uv.lock"
        UV_PROJECT_ENVIRONMENT=$venv .venv/bin/uv sync --frozen --quiet "$@"
        touch "$stamp"
      fi
    ) 9>"$PWD/target/python-environments.lock"
  fi
  [ "$venv" != .venv ] || { PATH="$PWD/.venv/bin:$PATH"; export PATH; }
}

# require_cargo_tools CRATE@VERSION...
# Rust tools from crates.io, compiled once per machine with `cargo install --locked` into
# $CARGO_HOME/bin, which is the cache: a rerun, or another checkout on the same machine, finds them
# there; only a tool missing or at another version is (re)built. A cargo subcommand missing there
# that the image build compiled already (tests/stack/images.sh copies it into
# target/images/tools) is taken from there when it answers with that version: a fresh machine
# compiles it once. Compiled as the Dockerfile compiles its tools, a debug build without debug
# info: a third of a release build's CPU time (cargo-deny: 74 s instead of 203 s), for a few
# seconds more of running (cargo deny check: 1.7 s of CPU instead of 0.8 s).
require_cargo_tools() {
  local spec name version installed built=$PWD/target/images/tools
  installed=$(cargo install --list)
  for spec in "$@"; do
    name=${spec%@*} version=${spec#*@}
    grep -qxF "$name v$version:" <<<"$installed" && continue
    if [[ $name == cargo-* ]] && [ -x "$built/$name" ] \
        && [ "$(PATH="$built:$PATH" cargo "${name#cargo-}" --version 2>/dev/null | awk '{ print $NF }')" = "$version" ]; then
      log "$spec: the image build's copy ($built)"
      PATH="$built:$PATH"
      export PATH
      continue
    fi
    log "installing $spec (cargo install --locked; once per machine)"
    CARGO_PROFILE_DEV_DEBUG=0 cargo install --locked --debug --quiet "$spec"
  done
}
