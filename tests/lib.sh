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

# require_pip_tools REQUIREMENT...
# Installs pinned Python tools (e.g. yamllint==1.35.1) into the project's own virtualenv,
# .venv (or $PIP_TOOLS_VENV, for tools whose dependencies clash with the others'), and puts it
# first on PATH. Re-installs only when the requirements change.
require_pip_tools() {
  local venv=${PIP_TOOLS_VENV:-.venv}
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    install_packages python3-venv
  fi
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv" || die "cannot create the virtualenv $venv"
  local stamp
  stamp="$venv/.installed-$(printf '%s\n' "$@" | sort | sha256sum | cut -c1-16)"
  if [ ! -e "$stamp" ]; then
    log "installing $* (pip, into $venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
    touch "$stamp"
  fi
  PATH="$PWD/$venv/bin:$PATH"
  export PATH
}

# require_cargo_tools CRATE@VERSION...
# Rust tools from crates.io, compiled once per machine with `cargo install --locked` into
# $CARGO_HOME/bin, which is the cache: a rerun, or another checkout on the same machine, finds them
# there; only a tool missing or at another version is (re)built.
require_cargo_tools() {
  local spec installed
  installed=$(cargo install --list)
  for spec in "$@"; do
    if ! grep -qxF "${spec%@*} v${spec#*@}:" <<<"$installed"; then
      log "installing $spec (cargo install --locked; once per machine)"
      cargo install --locked --quiet "$spec"
    fi
  done
}
