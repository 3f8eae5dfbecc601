# shellcheck shell=bash
# Checks that the containers of pod A agree on the setting they share, as `docker compose config`
# renders docker-compose.yml (sourced by tests/suites/stack.sh after tests/lib.sh; needs
# compose_cli and PyYAML).

# The poller keeps the samples of one AVERAGE_WINDOW and api-a averages over it: both read it (see
# the configuration table in docs/configuration.md), so both must get the same value, whatever the user sets.
readonly window_readers=(api-a poller)

# rendered_window COMPOSE_FILE ENV_FILE: "SERVICE=VALUE ..." for window_readers, VALUE being
# AVERAGE_WINDOW in SERVICE's rendered environment ("<unset>" when absent), with ENV_FILE as the
# .env file. Relative paths in COMPOSE_FILE resolve from the repository, wherever the file is.
rendered_window() {
  compose_cli --env-file "$2" -f "$1" --project-directory . config | python3 -c '
import sys, yaml

services = yaml.safe_load(sys.stdin)["services"]
values = []
for name in sys.argv[1:]:
    environment = services[name].get("environment") or {}
    if isinstance(environment, list):  # the KEY=VALUE form
        environment = dict(item.partition("=")[::2] for item in environment)
    values.append(name + "=" + str(environment.get("AVERAGE_WINDOW", "<unset>")))
print(" ".join(values))
' "${window_readers[@]}"
}

# expect_window CASE EXPECTED COMPOSE_FILE ENV_FILE [VARIABLE=VALUE...]: every reader gets
# EXPECTED, or, when EXPECTED is "-", one non-empty value shared by all; rendered with ENV_FILE
# and the given variables in the environment, and no AVERAGE_WINDOW of the caller's.
expect_window() {
  local case=$1 expected=$2 compose_file=$3 env_file=$4 rendered pair values
  shift 4
  rendered=$(
    unset AVERAGE_WINDOW
    # shellcheck disable=SC2163 # exports the VARIABLE=VALUE pairs given, not a variable's name
    [ $# -eq 0 ] || export "$@"
    rendered_window "$compose_file" "$env_file"
  ) || { echo "$case: docker compose config failed" >&2; return 1; }
  values=$(for pair in $rendered; do echo "${pair#*=}"; done | sort -u)
  if [ "$values" = "<unset>" ] || [ -z "$values" ] || [ "$(wc -l <<<"$values")" -ne 1 ] \
    || { [ "$expected" != - ] && [ "$values" != "$expected" ]; }; then
    echo "$case: pod A disagrees on AVERAGE_WINDOW (expected ${expected/#-/one value}): $rendered" >&2
    return 1
  fi
  echo "ok: $case: $rendered"
}

# check_pod_a_window COMPOSE_FILE WORK_DIR: the readers agree by default, and on the value a user
# sets in the environment or in .env.
check_pod_a_window() {
  local compose_file=$1 work=$2
  : >"$work/empty.env"
  printf 'AVERAGE_WINDOW=90s\n' >"$work/window.env"
  expect_window "default" - "$compose_file" "$work/empty.env" || return 1
  expect_window "AVERAGE_WINDOW=7m in the environment" 7m "$compose_file" "$work/empty.env" \
    AVERAGE_WINDOW=7m || return 1
  expect_window "AVERAGE_WINDOW=90s in .env" 90s "$compose_file" "$work/window.env" || return 1
}

# mutate_window NAME SED WORK_DIR: a copy of docker-compose.yml edited by SED must fail the check.
mutate_window() {
  local name=$1 expression=$2 work=$3 copy=$3/mutant-$1.yml
  sed -e "$expression" docker-compose.yml >"$copy"
  cmp -s docker-compose.yml "$copy" && die "mutation $name changed nothing in docker-compose.yml"
  if check_pod_a_window "$copy" "$work" >"$work/mutant-$name.log" 2>&1; then
    die "mutation $name went unnoticed: $(cat "$work/mutant-$name.log")"
  fi
  echo "  $name: caught ($(grep -v '^ok: ' "$work/mutant-$name.log" | head -1))"
}
