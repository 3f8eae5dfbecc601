# shellcheck shell=bash
# Checks of the workflows for tests/suites/aks.sh, which sources this file and provides the helpers:
# actionlint on every workflow file (.yml and .yaml), the checks of every file (only the delivery
# workflow deploys), the delivery workflow's invariants and az commands, and the mutated copies
# each must refuse.

# unsigned_pipeline NAME SED: the invariants must refuse a copy of the delivery workflow edited by SED.
unsigned_pipeline() {
  sed "$2" .github/workflows/ci-cd.yml >"$work/ci-cd-$1.yml"
  cmp -s .github/workflows/ci-cd.yml "$work/ci-cd-$1.yml" && die "workflow mutation $1 changed nothing"
  if "${checks[@]}" workflow "$work/ci-cd-$1.yml" >/dev/null 2>"$work/ci-cd-$1.err"; then
    die "the workflow invariants accepted mutation $1"
  fi
  echo "  caught: $1: $(cut -c1-160 "$work/ci-cd-$1.err" | head -n 1)"
}

# foreign_workflow NAME FILE TEXT: the check of every workflow file must refuse the workflows with
# FILE (TEXT) added beside them.
foreign_workflow() {
  local directory=$work/workflows-$1
  mkdir -p "$directory"
  cp .github/workflows/* "$directory/"
  printf '%s\n' "$3" >"$directory/$2"
  if "${checks[@]}" workflows "$directory" >/dev/null 2>"$directory.err"; then die "the workflows check accepted $2 ($1)"; fi
  echo "  caught: $1 ($2): $(cut -c1-160 "$directory.err" | head -n 1)"
}

check_workflows() {
  local files
  mapfile -t files < <(find .github/workflows -maxdepth 1 -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
  actionlint -shellcheck "$(command -v shellcheck)" "${files[@]}"
  echo "  actionlint: clean: ${files[*]}"
  "${checks[@]}" workflows .github/workflows
  "${checks[@]}" workflow .github/workflows/ci-cd.yml
  "${checks[@]}" az-workflow .github/workflows/ci-cd.yml

  log "the pipeline's invariants notice (each mutated copy of the delivery workflow must fail them)"
  # shellcheck disable=SC2016 # the workflow's own expressions and shell variables, literally
  {
    unsigned_pipeline images-unsigned '/^      - name: aks\/sign-images.sh$/,/^        run: aks\/sign-images.sh "/d'
    unsigned_pipeline no-provenance-for-the-poller '/subject-name: .*\/btc-price\/poller$/d'
    unsigned_pipeline tags-left-movable '/^      - name: aks\/sign-images.sh --lock$/,+1d'
    unsigned_pipeline signed-before-built '/^        run: aks\/deploy.sh --build-only/s/ --built-images .*//'
    unsigned_pipeline deploy-after-failed-verification '/^      - name: aks\/deploy.sh --skip-build --verified-images$/a\        if: ${{ !cancelled() }}'
    unsigned_pipeline die-only-warns '/^        run: aks\/verify-images.sh /s/run: /run: die() { echo "::warning::$*"; }; /'
    unsigned_pipeline deploys-latest '/^        run: aks\/deploy.sh --skip-build/s/run: /run: AKS_IMAGE_TAG=latest /'
    unsigned_pipeline deploys-unverified '/^        run: aks\/deploy.sh --skip-build/s/ --verified-images .*//'
    unsigned_pipeline another-trust-root '/^      - name: aks\/verify-images.sh$/i\      - run: cosign initialize --mirror https://tuf.attacker.example --root root.json'
    unsigned_pipeline az-step-rewrites-the-verifier '/^        run: az account get-access-token/s#$# \&\& echo exit > aks/verify-images.sh#'
    unsigned_pipeline tests-may-fail '/^        run: tests\/run "${{ matrix.suite }}"$/a\        continue-on-error: true'
    unsigned_pipeline tests-skipped '/^        run: tests\/run "${{ matrix.suite }}"$/i\        if: false'
    unsigned_pipeline build-after-failed-tests "s/^    if: github.event_name == 'push' \&\& github.ref == 'refs\/heads\/main'\$/    if: always()/"
    unsigned_pipeline deploy-job-always '/^  deploy:$/a\    if: always()'
    unsigned_pipeline deploy-job-may-fail '/^  deploy:$/a\    continue-on-error: true'
    unsigned_pipeline verification-without-bash-e '/^      - name: aks\/verify-images.sh$/a\        shell: bash {0}'
    unsigned_pipeline workflow-default-shell 's/^permissions:$/defaults:\n  run:\n    shell: bash {0}\npermissions:/'
    unsigned_pipeline probe-image-set '/^      AKS_CHECK_ISOLATION:/a\      AKS_PROBE_IMAGE: busybox:latest'
    unsigned_pipeline verification-tag-overridden '/^          AKS_SIGNER_REPOSITORY:/a\          AKS_IMAGE_TAG: latest'
    unsigned_pipeline another-signer 's/^          AKS_SIGNER_REPOSITORY: .*/          AKS_SIGNER_REPOSITORY: someone\/fork/'
    unsigned_pipeline callable-by-another-workflow 's/^  workflow_dispatch:$/  workflow_dispatch:\n  workflow_call:/'
    unsigned_pipeline advisories-from-the-snapshot 's/^      RUSTSEC_DB: live$/      RUSTSEC_DB: snapshot/'
  }

  log "only the delivery workflow deploys, and every workflow file is pinned (each added file must fail the check)"
  # shellcheck disable=SC2016 # workflow text, literally
  {
    foreign_workflow hotfix-deploys hotfix.yml 'name: hotfix
on:
  workflow_dispatch:
permissions:
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-24.04
    environment: production
    permissions:
      contents: read
      id-token: write
    steps:
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8  # v5.0.0
      - uses: azure/login@a457da9ea143d694b1b9c7c869ebb04ebe844ef5  # v2.3.0
        with:
          client-id: ${{ vars.AZURE_CLIENT_ID }}
          tenant-id: ${{ vars.AZURE_TENANT_ID }}
          subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}
      - run: aks/deploy.sh'
    foreign_workflow environment-only deploy.yaml 'on: [push]
jobs:
  x:
    runs-on: ubuntu-24.04
    environment:
      name: production
    steps:
      - run: echo'
    foreign_workflow script-only side.yml 'on: [push]
jobs:
  x:
    runs-on: ubuntu-24.04
    steps:
      - run: ./aks/deploy.sh --skip-build'
    foreign_workflow action-by-tag side.yaml 'on: [push]
jobs:
  x:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4'
    foreign_workflow container-by-tag side.yaml 'on: [push]
jobs:
  x:
    runs-on: ubuntu-24.04
    container: node:latest
    steps:
      - run: node --version'
    foreign_workflow docker-step-by-tag side.yaml 'on: [push]
jobs:
  x:
    runs-on: ubuntu-24.04
    steps:
      - uses: docker://alpine:latest'
    foreign_workflow calls-the-delivery-workflow caller.yml 'on: [pull_request]
jobs:
  x:
    uses: ./.github/workflows/ci-cd.yml'
  }
}
