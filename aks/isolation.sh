# shellcheck shell=bash
# The live isolation check of aks/deploy.sh (sourced by it, never run): a probe in an ephemeral
# container of a pod of one service must find the other service unreachable. The caller sets
# probe_image.

# The probe runs as an ephemeral container inside a pod of one service, so it shares that pod's
# network namespace and therefore its NetworkPolicies. It first checks its own service on
# 127.0.0.1:8080 (positive control: the tool works and loopback is not filtered), then requires
# every target, the other service's pod IP and ClusterIP, to time out (dropped by a policy; a
# refused connection or any answer fails the check).
# shellcheck disable=SC2016 # expanded by the probe's shell, not this one
PROBE_SCRIPT='wget -q -T 5 -O /dev/null http://127.0.0.1:8080/readyz || { echo "control FAILED: 127.0.0.1:8080/readyz did not answer"; exit 2; }; echo "control ok: own service answers on 127.0.0.1:8080"; rc=0; for url; do if out=$(wget -q -T 5 -O /dev/null "$url" 2>&1); then echo "REACHABLE: $url"; rc=1; else case $out in *"timed out"*) echo "blocked (timed out): $url" ;; *) echo "FAILED without a timeout: $url: $out"; rc=1 ;; esac; fi; done; exit $rc'

# live_pod NAMESPACE DEPLOYMENT: a pod the probe can use: of the Deployment's current revision
# (the pod-template-hash of its newest ReplicaSet), Ready, and not terminating. Right after an
# update, pods of the previous ReplicaSet are still shutting down; they keep status.phase Running
# until they exit, so a probe in one of them would fail its own control (its /readyz answers 503)
# or vanish mid-check. Placeholder in a dry run.
live_pod() {
  local ns=$1 name=$2 revision hash pods pod=""
  revision=$(kq get deployment "$name" --namespace "$ns" \
    --output 'jsonpath={.metadata.annotations.deployment\.kubernetes\.io/revision}') || revision=""
  hash=$(kq get replicasets --namespace "$ns" --selector "app.kubernetes.io/name=$name" --output json \
    | jq -r --arg revision "$revision" '.items[]
        | select(.metadata.annotations["deployment.kubernetes.io/revision"] == $revision)
        | .metadata.labels["pod-template-hash"]') || hash=""
  if [ -n "$hash" ]; then
    pods=$(kq get pods --namespace "$ns" --selector "app.kubernetes.io/name=$name,pod-template-hash=$hash" \
      --output json) || pods='{"items": []}'
    pod=$(jq -r 'first(.items[] | select(.metadata.deletionTimestamp == null)
        | select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))
        | .metadata.name) // empty' <<<"$pods")
  fi
  [ -n "$pod" ] || [ "$DRY_RUN" = true ] || die "no Ready pod of the current revision of $ns/$name"
  printf '%s' "${pod:-<a pod of $name>}"
}
pod_ip() {
  local ip
  ip=$(kq get pod "$2" --namespace "$1" --output 'jsonpath={.status.podIP}') || ip=""
  printf '%s' "${ip:-<ip of $2>}"
}
cluster_ip() {
  local ip
  ip=$(kq get service "$2" --namespace "$1" --output 'jsonpath={.spec.clusterIP}') || ip=""
  printf '%s' "${ip:-<cluster IP of $2>}"
}

# probe NAMESPACE POD URL...: runs the probe in POD; fails unless every URL timed out.
probe() {
  local ns=$1 pod=$2 name code="" logs until=$((SECONDS + 180))
  shift 2
  name="isolation-probe-$(date +%Y%m%d%H%M%S)"
  # PSA "restricted" is enforced in both namespaces, and ephemeral containers are checked too:
  # --profile restricted drops all capabilities, forbids privilege escalation and sets
  # RuntimeDefault seccomp and runAsNonRoot; aks/isolation-probe.json adds the numeric non-root
  # user (busybox's image user is root, which runAsNonRoot would refuse) and a read-only root.
  # shellcheck disable=SC2154 # probe_image: set by aks/deploy.sh
  kubectl_run debug "pod/$pod" --namespace "$ns" --image "$probe_image" --profile restricted \
    --custom aks/isolation-probe.json --container "$name" -- sh -c "$PROBE_SCRIPT" probe "$@"
  note "expect: control ok, then every target blocked (timed out); the container exits 0"
  if [ "$DRY_RUN" = true ]; then
    show_command '? (until it is set)' kubectl --context "$AKS_KUBE_CONTEXT" get pod "$pod" --namespace "$ns" \
      --output "jsonpath={.status.ephemeralContainerStatuses[?(@.name==\"$name\")].state.terminated.exitCode}"
    show_command '?' kubectl --context "$AKS_KUBE_CONTEXT" logs "$pod" --namespace "$ns" --container "$name"
    return 0
  fi
  while [ -z "$code" ]; do
    code=$(kq get pod "$pod" --namespace "$ns" --output \
      "jsonpath={.status.ephemeralContainerStatuses[?(@.name==\"$name\")].state.terminated.exitCode}")
    [ -n "$code" ] || [ "$SECONDS" -lt "$until" ] || die "the probe in $ns/$pod did not finish within 180 s"
    [ -n "$code" ] || sleep 3
  done
  logs=$(kq logs "$pod" --namespace "$ns" --container "$name")
  printf '%s\n' "$logs" >&3
  [ "$code" = 0 ] || die "isolation check from $ns/$pod failed (exit $code)"
}
