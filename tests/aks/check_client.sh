# shellcheck shell=bash
# The client of tests/aks/check_server.py, sourced by tests/suites/aks.sh and the stand-ins in
# bin/: ask_checks STDIN PROGRAM ARG... answers what `python3 tests/aks/PROGRAM ARG... <STDIN`
# would (its output, error and exit status; STDIN empty for none), from the server on
# CHECK_SERVER_PORT (with its CHECK_SERVER_TOKEN) without a process of its own (bash's
# /dev/tcp), or from PROGRAM itself when no server is named.
check_programs=$(cd "${BASH_SOURCE[0]%/*}" && pwd)

ask_checks() {
  local stdin=$1 program=$2 fd status out err
  shift 2
  if [ -n "${CHECK_SERVER_PORT:-}" ] && exec {fd}<>"/dev/tcp/127.0.0.1/$CHECK_SERVER_PORT"; then
    printf '%s\0' "$#" "${CHECK_SERVER_TOKEN:-}" "$PWD" "$stdin" "$program" "$@" >&"$fd"
    IFS= read -r -d '' status <&"$fd" || status=
    IFS= read -r -d '' out <&"$fd" || true
    IFS= read -r -d '' err <&"$fd" || true
    exec {fd}>&-
    printf '%s' "$out"
    printf '%s' "$err" >&2
    [[ $status =~ ^[0-9]+$ ]] || { echo "the checks' server gave no answer to: $program $*" >&2; return 1; }
    return "$status"
  fi
  python3 "$check_programs/$program" "$@" <"${stdin:-/dev/null}"
}
