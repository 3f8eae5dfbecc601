#!/usr/bin/env bash
# The AKS tooling, offline: shellcheck on every script; actionlint and the pipeline's invariants
# on the workflow (its deploy job carrying AKS_HOST, run with the job's environment); every az
# command planned or run checked against the arguments azure-cli declares (tests/aks/az_cli.py);
# the aks-engine API model's invariants and its generation; and every aks/ script's -h and --dry-run against stand-ins for az, kubectl, helm and kubelogin
# (tests/aks/README.md), checking that each runbook issues the commands and flags that matter, in
# order, changes nothing when everything exists, and that each check notices when a flag that
# matters is removed from a copy of the scripts.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

data=tests/aks
# Local only: a real Azure CLI to hold the az stand-in against (tests/aks/README.md).
readonly real_az=${AKS_REAL_AZ:-}
readonly tag=0123456789abcdef0123456789abcdef01234567
readonly group_id=3f2e1d0c-9b8a-4765-8432-10fedcba9876
readonly registry=btcprice0f1e2d3c.azurecr.io
# A throw-away public key in the format aks-engine wants (not a key anyone holds).
readonly test_public_key="ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDtestKeyForTheAksEngineModelOnly0000000000000000000000000000 test@example.invalid"

require_packages shellcheck:shellcheck jq:jq
command -v kubectl >/dev/null || die "kubectl not found (the deploy dry run renders the overlays with kubectl kustomize)"
# actionlint, yamllint, PyYAML and jmespath (the az stand-in compiles --query values as az does;
# azure-cli 2.91.0 ships jmespath 1.1.0): the Python test project's (pyproject.toml, uv.lock).
require_python_env
# The checks and stand-ins start Python some thousand times: their modules compiled once, also
# where the environment says not to write bytecode (PYTHONDONTWRITEBYTECODE).
python3 -m compileall -q "$data"

work=$(mktemp -d)
server=
trap '[ -z "$server" ] || { kill "$server"; wait "$server" || true; }; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

# checks.py's checks and the stand-ins' parsers, answered by one process started here
# (tests/aks/check_server.py: its imports made once; check_client.sh's ask_checks asks it over
# bash's /dev/tcp, without a process of its own).
CHECK_SERVER_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export CHECK_SERVER_TOKEN
"$PWD/.venv/bin/python" "$PWD/$data/check_server.py" "$work/checks.port" &
server=$!
for _ in $(seq 200); do [ -e "$work/checks.port" ] && break; sleep 0.05; done
read -r CHECK_SERVER_PORT <"$work/checks.port" || die "the checks' server did not start"
export CHECK_SERVER_PORT
# shellcheck source=tests/aks/check_client.sh
source "$data/check_client.sh"
checks=(ask_checks "" checks.py)

log "shellcheck"
shellcheck -x aks/*.sh aks/kind/*.sh aks/aks-engine/generate.sh tests/suites/aks.sh "$data"/bin/*
echo "  clean: aks/*.sh, aks/kind/*.sh, aks/aks-engine/generate.sh, tests/suites/aks.sh, $data/bin/*"

log "yamllint"
yamllint -s -c "$data/yamllint.yaml" aks/ingress .github/workflows
echo "  clean: aks/ingress/*.yaml, .github/workflows/*.yml and *.yaml"

log "actionlint (with shellcheck on the run: steps) on every workflow file, and the pipeline's invariants"
# shellcheck source=tests/aks/check-workflow.sh
source "$data/check-workflow.sh"
check_workflows

log "the test matrix's invariants notice (each mutated copy of the workflow must fail them)"
unsigned_pipeline suite-left-out-of-the-matrix 's/^        suite: \[rust, /        suite: [/'
unsigned_pipeline suite-twice-in-the-matrix 's/^        suite: \[rust, /        suite: [rust, rust, /'
unsigned_pipeline one-failure-cancels-the-others 's/^      fail-fast: false$/      fail-fast: true/'
unsigned_pipeline a-job-added-to-the-matrix 's/^        suite: \[rust, \(.*\)\]$/        suite: [rust, \1]\n        include: [{suite: rust, tolerated: true}]/'
# shellcheck disable=SC2016 # the workflow's own expression, ${{ matrix.suite }}, literally
unsigned_pipeline every-suite-in-each-job 's/^        run: tests\/run "${{ matrix.suite }}"$/        run: tests\/run/'

log "third-party images: the one list agrees with the kustomize images and the Dockerfile's build base"
"${checks[@]}" third-party aks/third-party-images.txt manifests/components/settings/kustomization.yaml \
  manifests/base/kustomization.yaml Dockerfile

log "aks-engine: the API model's invariants, and the model generate.sh fills from the environment"
"${checks[@]}" aks-engine-model aks/aks-engine/kubernetes.json
AKS_ENGINE_SSH_PUBLIC_KEY="$test_public_key" AKS_ENGINE_OUTPUT_DIR="$work/aks-engine" \
  aks/aks-engine/generate.sh >"$work/aks-engine.out"
"${checks[@]}" aks-engine-filled aks/aks-engine/kubernetes.json "$work/aks-engine/btc-price-k8s/kubernetes.json"
"${checks[@]}" order "$work/aks-engine.out" '^# WARNING: aks-engine is retired.*Edgio on 15 January 2025' \
  '^  aks-engine deploy' '^  aks-engine generate' '^  az deployment group create'
"${checks[@]}" command "$work/aks-engine.out" '^  aks-engine deploy' '--auth-method cli' '--api-model .*/kubernetes\.json' \
  '--location westeurope' '--resource-group btc-price-engine-rg'
if AKS_ENGINE_SSH_PUBLIC_KEY="$test_public_key" AKS_ENGINE_DNS_PREFIX=-bad- \
    aks/aks-engine/generate.sh --dry-run >/dev/null 2>&1; then
  die "generate.sh accepted a DNS prefix aks-engine refuses"
fi

log "Kubernetes version selection (newest GA, non-preview, numerically) from az aks get-versions output"
(
  source aks/lib.sh
  expect() { [ "$2" = "$3" ] || die "$1: expected '$3', got '$2'"; }
  expect "fixture" "$(newest_ga_version 1.37 <"$data/get-versions.json")" 1.36.10
  expect "without 1.36" "$(jq 'del(.values[] | select(.version == "1.36"))' "$data/get-versions.json" | newest_ga_version 1.37)" 1.35.10
  expect "all preview" "$(jq '.values[].isPreview = true' "$data/get-versions.json" | newest_ga_version 1.37)" ""
  expect "LTS only" "$(jq '.values[].capabilities.supportPlan = ["AKSLongTermSupport"]' "$data/get-versions.json" | newest_ga_version 1.37)" ""
  expect "capped at 1.35" "$(newest_ga_version 1.35 <"$data/get-versions.json")" 1.35.10
  community_supported 1.35.9 <"$data/get-versions.json" || die "1.35 is in community support"
  ! community_supported 1.34.7 <"$data/get-versions.json" || die "1.34 is offered under LTS only"
  for case in "1.38.1 1.37 yes" "2.0 1.37 yes" "1.37.4 1.37 no" "1.9 1.37 no" "1.100 1.37 yes"; do
    read -r version cap above <<<"$case"
    if minor_above "$version" "$cap"; then got=yes; else got=no; fi
    expect "minor_above $version $cap" "$got" "$above"
  done
  version_available 1.35 <"$data/get-versions.json" || die "1.35 should be available"
  version_available 1.35.9 <"$data/get-versions.json" || die "1.35.9 should be available"
  ! version_available 1.99 <"$data/get-versions.json" || die "1.99 should not be available"
)
echo "  1.36.10 chosen from a list with preview 1.37, GA 1.36.9/1.36.10, LTS-only 1.34; preview-only and LTS-only lists choose nothing; a cap of 1.35 chooses 1.35.10"

# From here on the scripts run against the stand-ins; nothing of the caller's AKS_* settings leaks in.
export FAKE_REAL_KUBECTL FAKE_LOG="$work/fake.log"
FAKE_REAL_KUBECTL=$(command -v kubectl)
PATH="$PWD/$data/bin:$PATH"
while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(AKS_|FAKE_(STATE|IMAGES|KUBE|SERVER|CAN|HELM|GROUP|AKS|AZ|GET|THIRD|HTTPS|CERTIFICATE|PUBLIC))' || true)
# The command lines the az and kubectl stand-ins found acceptable, and the overlays kubectl
# rendered, shared by every run and mutant.
export FAKE_KUBECTL_CACHE="$work/kubectl-flags" FAKE_AZ_CACHE="$work/az-accepted" FAKE_KUSTOMIZE_CACHE="$work/kustomize"

# dry NAME ROOT [VAR=VALUE...] SCRIPT [ARG...]: ROOT/aks/SCRIPT --dry-run with those variables;
# output in $work/NAME.out. Fails if the script fails or if a stand-in refused a command (a dry
# run that tried to change something).
dry() {
  local name=$1 root=$2 vars=()
  shift 2
  while [[ $1 == *=* ]]; do vars+=("$1"); shift; done
  local script=$1
  shift
  : >"$FAKE_LOG"
  if ! env "${vars[@]}" "$root/aks/$script" --dry-run "$@" >"$work/$name.out" 2>&1; then
    sed 's/^/    /' "$work/$name.out" >&2
    echo "$name: $script --dry-run failed" >&2
    return 1
  fi
  if grep '^REFUSED' "$FAKE_LOG" >&2; then
    echo "$name: the dry run tried to change something, or passed arguments az refuses (above)" >&2
    return 1
  fi
  # Every az command it planned (+) or ran (?) is one the Azure CLI accepts; every cosign and gh
  # command one that cosign and gh accept.
  "${checks[@]}" plan "$work/$name.out" >&2
}

# refused NAME ROOT MESSAGE [VAR=VALUE...] SCRIPT [ARG...]: the dry run must fail, saying MESSAGE,
# without trying to change anything.
refused() {
  local name=$1 root=$2 message=$3 vars=()
  shift 3
  while [[ $1 == *=* ]]; do vars+=("$1"); shift; done
  local script=$1
  shift
  : >"$FAKE_LOG"
  if env "${vars[@]}" "$root/aks/$script" --dry-run "$@" >"$work/$name.out" 2>&1; then
    echo "$name: $script should have failed" >&2
    return 1
  fi
  grep -qF -- "$message" "$work/$name.out" || { cat "$work/$name.out" >&2; echo "$name: expected: $message" >&2; return 1; }
  if grep '^REFUSED' "$FAKE_LOG" >&2; then echo "$name: tried to change something" >&2; return 1; fi
  "${checks[@]}" plan "$work/$name.out" >&2
}

# policy_peer ROOT OVERLAY: the controller peer the rendered overlay's NetworkPolicies admit.
# (checks.py itself: the server cannot open this shell's /dev/fd.)
policy_peer() { "$PWD/.venv/bin/python" "$PWD/$data/checks.py" policy-peer <("$FAKE_REAL_KUBECTL" kustomize "$1/manifests/overlays/$2"); }
order() { "${checks[@]}" order "$work/$1.out" "${@:2}"; }
cmd() { "${checks[@]}" command "$work/$1.out" "${@:2}"; }
nothing_changes() { "${checks[@]}" no-command "$work/$1.out" '^\+ '; }
has() { grep -qE -- "$2" "$work/$1.out" || { echo "$1: no line matching $2" >&2; return 1; }; }
lacks() { ! grep -E -- "$2" "$work/$1.out" >&2 || { echo "$1: unexpected line matching $2 (above)" >&2; return 1; }; }

# real NAME ROOT [VAR=VALUE...] SCRIPT [ARG...]: the script for real (no --dry-run) against the
# stand-ins, which refuse the first change it makes; output in $work/NAME.out. For what happens
# before anything changes (checks and waits).
real() {
  local name=$1 root=$2 vars=()
  shift 2
  while [[ $1 == *=* ]]; do vars+=("$1"); shift; done
  : >"$FAKE_LOG"
  env "${vars[@]}" "$root/aks/$1" "${@:2}" >"$work/$name.out" 2>&1 || true
}
# first_change NAME PATTERN: the first command the real run tried to change something with.
first_change() {
  grep -m1 '^REFUSED' "$FAKE_LOG" | grep -qE -- "$2" \
    || { cat "$work/$1.out" >&2; echo "$1: first change is not $2: $(grep -m1 '^REFUSED' "$FAKE_LOG")" >&2; return 1; }
}


# The checks, by script; each check_* takes the root of a checkout (the repository, or a mutated
# copy of aks/).
# shellcheck source=tests/aks/check-cluster.sh
source "$data/check-cluster.sh"
# shellcheck source=tests/aks/check-ingress.sh
source "$data/check-ingress.sh"
# shellcheck source=tests/aks/check-deploy.sh
source "$data/check-deploy.sh"
# shellcheck source=tests/aks/check-kind.sh
source "$data/check-kind.sh"
# shellcheck source=tests/aks/check-safety.sh
source "$data/check-safety.sh"
# shellcheck source=tests/aks/check-stand-ins.sh
source "$data/check-stand-ins.sh"
# shellcheck source=tests/aks/check-signing.sh
source "$data/check-signing.sh"

check_help() {
  local script runbook name
  for script in create-cluster.sh:create-new install-ingress.sh:ingress-f5 deploy.sh:deploy \
      destroy.sh:destroy aks-engine/generate.sh:aks-engine kind/create-cluster.sh:kind-new \
      kind/delete-cluster.sh:kind-delete; do
    runbook=${script#*:}
    script=${script%:*}
    aks/"$script" -h >"$work/help.out"
    grep -q -- '--dry-run' "$work/help.out" || die "$script -h does not document --dry-run"
    # Every setting the script shows when it runs is documented by -h.
    while read -r name; do
      grep -qE "^  $name " "$work/help.out" || die "$script -h does not document $name"
    done < <(sed -n 's/^#   \(AKS_[A-Z0-9_]*\)=.*/\1/p' "$work/$runbook.out")
  done
  echo "  -h of every script documents --dry-run and every setting the script uses"
}

log "the az stand-in refuses what az refuses (table read from the parser of azure-cli $(jq -r '."azure-cli"' "$data/az-cli-arguments.json")), the kubectl, cosign and gh stand-ins what those refuse"
check_az_stand_in
check_kubectl_stand_in
check_signature_stand_ins

# The same table, used on a runbook: a planned `az aks create --localdns-config` fails the check.
printf '+ az aks create --resource-group rg --name c \\\n   --localdns-config aks/localdns.json\n' >"$work/bad-plan.plan"
if "${checks[@]}" az-plan "$work/bad-plan.plan" 2>"$work/bad-plan.err"; then die "az-plan accepted az aks create --localdns-config"; fi
grep -qF 'unrecognized arguments: --localdns-config' "$work/bad-plan.err" || { cat "$work/bad-plan.err" >&2; die "az-plan refused for another reason"; }
echo "  a runbook planning az aks create --localdns-config: refused"

log "create-cluster.sh --dry-run: new, pinned version, re-run on existing resources, unsafe existing cluster"
check_create_cluster "$PWD"
check_create_cluster_more "$PWD"
echo "  new cluster: group, registry, newest GA version, Cilium policy, Entra ID + Azure RBAC, zones, autoscaler, upgrades, AcrPull, admin role, credentials"
echo "  everything exists: no command that changes anything"

log "what the scripts refuse before any Azure call: bad settings, an old az or aks-preview, a preview version"
check_settings "$PWD"
check_az_version "$PWD"
check_preview "$PWD"
echo "  settings checked (types, ranges, names, case as az reads it) and az's version, before any az call; previews only with --allow-preview"

log "an existing cluster: LocalDNS changes (they reimage pools) only with --disable-localdns; unlocked copies locked"
check_localdns_existing "$PWD"
check_lock_resumed "$PWD"
echo "  no profile is off with Cilium policies (left alone), Preferred and Required reported; a copy left unlocked is locked"

log "install-ingress.sh: F5 (default), re-run, new cluster, ingress-nginx on 1.36 and 1.35, app routing, unpublished charts, RBAC propagation"
check_install_ingress "$PWD"
check_install_ingress_more "$PWD"
check_chart_published "$PWD"
check_rbac_wait "$PWD"
check_https "$PWD"
echo "  chart, version, release, namespace, values and NetworkPolicy peers as the manifests expect"

log "deploy.sh --dry-run: build, pin, apply, rollouts, smoke tests, isolation; re-run; build-only; skip-build; refusals"
check_deploy "$PWD"
check_deploy_more "$PWD"
echo "  images built per target and pinned to the commit, overlay applied, routes and isolation checked"

log "signatures: every image built and its digest signed; verified before the deploy, which deploys the verified digests only"
check_build_and_sign "$PWD"
check_verify_images "$PWD"
check_deploy_verified "$PWD"
check_pipeline_signatures .github/workflows/ci-cd.yml
echo "  built over existing tags; the reported digests signed, attested, locked while their tags name them;"
echo "  unsigned, unattested, unproven or foreign images refused; the deploy job deploys the verified digests, and nothing without them"

log "the end-to-end job's kind cluster, and install-ingress.sh and deploy.sh on it (AKS_PLATFORM=kind)"
check_kind "$PWD"
echo "  kind without kindnet, Cilium, local registry wired into the nodes, cloud-provider-kind, third-party copies; the same controller, overlay, smoke tests and probes, no az"

log "destroy.sh: created group deleted, foreign group kept, nothing to delete, no confirmation"
check_destroy "$PWD"
echo "  deletes only what create-cluster.sh made, and only when confirmed"

log "the pipeline's deploy job with its environment (repository variables), with and without AKS_HOST"
check_pipeline_deploy .github/workflows/ci-cd.yml
echo "  AKS_HOST set: overlay f5-nginx-ingress-https, smoke tests, redirect and HSTS through https://<host>; unset: the plain overlay"
# Without the host in the deploy job, the invariant and the run above must both fail.
sed '/^      AKS_HOST: \${{ vars.AKS_HOST }}$/d' .github/workflows/ci-cd.yml >"$work/ci-cd-no-host.yml"
cmp -s .github/workflows/ci-cd.yml "$work/ci-cd-no-host.yml" && die "the workflow mutation removed nothing"
if "${checks[@]}" workflow "$work/ci-cd-no-host.yml" >/dev/null 2>&1; then die "the workflow invariant accepted a deploy job without AKS_HOST"; fi
set +e
(set -e; check_pipeline_deploy "$work/ci-cd-no-host.yml") >/dev/null 2>&1
status=$?
set -e
[ "$status" -ne 0 ] || die "a deploy job without AKS_HOST still applied the HTTPS overlay"
echo "  a deploy job without AKS_HOST: caught by the invariant and by the run"

log "HTTPS kept: a deploy without a host on a cluster serving HTTPS stops (by hand and in the pipeline); public DNS checked"
check_keep_https "$PWD"
check_pipeline_keeps_https .github/workflows/ci-cd.yml
check_public_dns_planned "$PWD"
check_public_dns_checked "$PWD"
echo "  without a host (or AKS_HOST in the pipeline) a cluster with TLS or the Certificate is refused unless --remove-https;"
echo "  the host must resolve, in public DNS, to the controller's address only"

log "-h"
check_help

log "the checks notice a flag that matters when it is removed (each mutated copy must fail)"
# shellcheck source=tests/aks/mutants.sh
source "$data/mutants.sh"
mutations
while [ "$(running_mutants)" -gt 0 ]; do wait -n || true; done
# shellcheck disable=SC2031 # the suite's own directory: the mutants changed theirs only
for mutant in "${MUTANTS[@]}"; do
  [ "$(cat "$work/mutants/${mutant%%:*}/status")" -ne 0 ] || die "mutation ${mutant%%:*} went unnoticed by ${mutant#*:}"
  echo "  ${mutant%%:*}: caught: $(grep -v '^[[:space:]]*$' "$work/mutants/${mutant%%:*}/mutant.log" | tail -n 1 | cut -c1-150)"
done

if [ -n "$real_az" ]; then
  log "the real Azure CLI ($real_az, not logged in) and the az stand-in agree on the cases and every planned command"
  # shellcheck disable=SC2031 # the real runs' directory, not a mutant's
  "${checks[@]}" az-compare "$real_az" "$data/az-refusals.txt" "$work"/*.out
fi

log "the runbooks (--dry-run output): a new cluster, then the controller and the deployment on it"
for runbook in create-new ingress-f5 deploy; do
  printf '\n---- %s\n' "$runbook"
  # shellcheck disable=SC2031 # the real runs' directory, not a mutant's
  cat "$work/$runbook.out"
done

log "aks: all checks passed"
