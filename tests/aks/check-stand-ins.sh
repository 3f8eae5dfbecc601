# shellcheck shell=bash
# Checks of the az and kubectl stand-ins themselves, for tests/suites/aks.sh (which sources this
# file and provides the helpers): they must refuse what the real tools refuse, with their
# messages, and answer queries as the real API server would.

# Each case of tests/aks/az-refusals.txt through the az stand-in itself: az's exit status and
# message, and the refusal in its log (a dry run that hits one fails).
check_az_stand_in() {
  local status message command got words
  "${checks[@]}" az-cases "$data/az-refusals.txt"
  while IFS='|' read -r status message command; do
    [[ $status =~ ^[0-9]$ ]] || continue
    : >"$FAKE_LOG"
    mapfile -t words < <(python3 -c 'import shlex, sys; print("\n".join(shlex.split(sys.argv[1])))' "$command")
    got=0
    az "${words[@]}" >"$work/az-case.out" 2>&1 || got=$?
    if [ "$status" = 0 ]; then
      # Accepted: past the argument checks (the stand-in then refuses it as a change, exit 97).
      ! grep '^REFUSED (\(arguments\|the stand-in\)' "$FAKE_LOG" >&2 || die "the az stand-in refused the arguments of az $command"
      continue
    fi
    if [ "$got" != "$status" ] || ! grep -qxF -- "ERROR: $message" "$work/az-case.out"; then
      cat "$work/az-case.out" >&2
      die "the az stand-in answered az $command with status $got (expected $status: $message)"
    fi
    grep -q '^REFUSED (arguments az refuses)' "$FAKE_LOG" || die "the az stand-in did not log its refusal of az $command"
  done <"$data/az-refusals.txt"
  echo "  the az stand-in: $(grep -c '^[12]|' "$data/az-refusals.txt") refusals with az's status and message, $(grep -c '^0|' "$data/az-refusals.txt") accepted"
}

# refused_by_kubectl MESSAGE ARG...: the stand-in refuses kubectl ARG... with the real kubectl's MESSAGE.
refused_by_kubectl() {
  local message=$1
  shift
  : >"$FAKE_LOG"
  if kubectl "$@" >"$work/kubectl-case.out" 2>&1 || ! grep -qF -- "$message" "$work/kubectl-case.out"; then
    cat "$work/kubectl-case.out" >&2
    die "the kubectl stand-in answered kubectl $* (expected: $message)"
  fi
  grep -q '^REFUSED (flags kubectl refuses)' "$FAKE_LOG" || die "the kubectl stand-in did not log its refusal of kubectl $*"
  echo "  kubectl $*: refused ($message)"
}

# Flags kubectl refuses are refused with its message; a selector finds F5's controller pod by its
# labels in its namespace, and nothing with one label more or in another namespace.
check_kubectl_stand_in() {
  local f5_pods
  refused_by_kubectl "unknown flag: --outptu" --context c get ingress --namespace service-a --outptu 'jsonpath={.items}'
  refused_by_kubectl "unknown flag: --bogus" --context c get service api-a --namespace service-a --output 'jsonpath={.spec.clusterIP}' --bogus
  refused_by_kubectl "unknown flag: --as-bogus" --context c auth can-i create namespaces --as-bogus x
  refused_by_kubectl "flag needs an argument: --selector" --context c get pods --namespace nginx-ingress --selector
  f5_pods=app.kubernetes.io/instance=nginx-ingress,app.kubernetes.io/name=nginx-ingress
  [ "$(kubectl --context c get pods --namespace nginx-ingress --selector "$f5_pods" --output name)" = pod/nginx-ingress-controller-6b8c7d9f5-t4r2w ] \
    || die "the kubectl stand-in did not find F5's controller pod by its labels"
  [ -z "$(kubectl --context c get pods --namespace nginx-ingress --selector "$f5_pods,app.kubernetes.io/component=controller" --output name)" ] \
    || die "the kubectl stand-in answered a selector no pod matches"
  [ -z "$(kubectl --context c get pods --namespace ingress-nginx --selector "$f5_pods" --output name)" ] \
    || die "the kubectl stand-in answered from another namespace"
  echo "  selectors: F5's controller pod found by its labels in its namespace; one label more, or another namespace, finds nothing"
}

# refused_by TOOL MESSAGE ARG...: the cosign or gh stand-in refuses TOOL ARG... with the real tool's
# MESSAGE and logs the refusal.
refused_by() {
  local tool=$1 message=$2
  shift 2
  : >"$FAKE_LOG"
  if "$tool" "$@" >"$work/$tool-case.out" 2>&1 || ! grep -qF -- "$message" "$work/$tool-case.out"; then
    cat "$work/$tool-case.out" >&2
    die "the $tool stand-in answered $tool $* (expected: $message)"
  fi
  grep -q '^REFUSED' "$FAKE_LOG" || die "the $tool stand-in did not log its refusal of $tool $*"
  echo "  $tool $*: refused ($message)"
}

# cosign and gh refuse unknown flags, a keyless verification without identity or issuer, an
# attestation without a predicate or of an unknown type, a signature without --yes, exclusive
# gh flags together; the same parse holds a planned command (signatures.py plan).
check_signature_stand_ins() {
  local image=r.azurecr.io/btc-price/api-a@sha256:0000000000000000000000000000000000000000000000000000000000000000
  local issuer=https://token.actions.githubusercontent.com
  refused_by cosign "unknown flag: --certificate-issuer" verify --certificate-identity x --certificate-issuer "$issuer" "$image"
  refused_by cosign "--certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required" verify --certificate-identity x "$image"
  refused_by cosign "--certificate-identity or --certificate-identity-regexp is required" verify-attestation --type cyclonedx --certificate-oidc-issuer "$issuer" "$image"
  refused_by cosign "invalid predicate type: sbom" verify-attestation --type sbom --certificate-identity x --certificate-oidc-issuer "$issuer" "$image"
  refused_by cosign "unknown flag: --predicate-file" attest --yes --type cyclonedx --predicate-file p.json "$image"
  refused_by cosign "at least one of the flags in the group [predicate statement] is required" attest --yes --type cyclonedx "$image"
  refused_by cosign "no --yes" sign "$image"
  refused_by cosign "not a read-only verification" sign --yes "$image"
  refused_by gh "unknown flag: --signer-ref" attestation verify "oci://$image" --repo o/r --signer-ref refs/heads/main
  refused_by gh "none of the others can be" attestation verify "oci://$image" --repo o/r --signer-repo o/r --signer-workflow o/r/.github/workflows/ci-cd.yml
  printf '+ cosign sign --yes %s\n+ cosign attest --yes --type cyclonedx --predicate p.json %s\n' "$image" "$image" >"$work/good-sign.plan"
  python3 "$data/signatures.py" plan "$work/good-sign.plan" || die "signatures.py plan refused a well-formed signature"
  printf '+ cosign attest --yes --type cyclonedx \\\n   --predicate-path p.json %s\n' "$image" >"$work/bad-sign.plan"
  if python3 "$data/signatures.py" plan "$work/bad-sign.plan" 2>/dev/null; then die "signatures.py plan accepted cosign attest --predicate-path"; fi
  echo "  planned: a well-formed cosign sign and attest accepted, --predicate-path (a wrapped line) refused"
}
