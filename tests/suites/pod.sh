#!/usr/bin/env bash
# The rendered Service A pod, run for real: the Deployment from manifests/base (through the
# tests/pod overlay, which only points the poller at a fake upstream) under `podman kube play`,
# with the images the Dockerfile builds. Its three containers must start under the manifest's own
# security context, api-a must serve the price the poller fetched, Redis must be unreachable
# from outside the pod, and a Redis container restart must keep the samples (append-only file on
# the emptyDir).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh
source tests/stack/docker.sh

readonly upstream_port=28199
readonly expected_price=78754
# REDIS_IMAGE: the local name of the pinned Redis image (tests/stack/docker.sh).
# shellcheck disable=SC2153
readonly redis_image=docker.io/library/$REDIS_IMAGE
work=$(mktemp -d)

cleanup() {
  local status=$?
  if [ $status -ne 0 ] && [ -n "${pod:-}" ]; then
    log "failed; last logs"
    for c in api-a poller redis; do podman logs --tail 20 "$pod-$c" 2>&1 | grep -v systemd || true; done
  fi
  [ -e "$work/deployment.yaml" ] && podman kube down "$work/deployment.yaml" >/dev/null 2>&1
  [ -n "${upstream_pid:-}" ] && kill "$upstream_pid" 2>/dev/null
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT

# podman 4 logs an error for every healthcheck it cannot hand to systemd (none on CI machines);
# the probes are not what this suite checks, so those lines are dropped.
quiet_podman() { podman "$@" 2> >(grep -v 'systemd' >&2); }

require_packages curl:curl podman:podman runc:runc catatonit:catatonit nginx:nginx
PIP_TOOLS_VENV=.venv-pod require_pip_tools pyyaml==6.0.3
ensure_docker
# Without systemd, podman needs runc and raised ulimits (see ../shared/ci-environment.md).
cat >"$work/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$work/containers.conf

log "images: built from the Dockerfile with docker, loaded into podman"
tests/stack/base-images.sh "${base_images[@]}"
for target in api-a poller; do
  docker build -q --build-arg RUST_IMAGE --target "$target" -t "btc-price/$target:local" . >/dev/null
done
docker save btc-price/api-a:local btc-price/poller:local "$REDIS_IMAGE" | podman load -q >/dev/null
# docker save drops the docker.io/library/ prefix (podman names the image localhost/redis); the
# manifest names it in full, so it gets that name too, and podman never tries to pull it.
podman tag "localhost/$REDIS_IMAGE" "$redis_image"

log "render the Service A Deployment (tests/pod overlay on manifests/base)"
kubectl kustomize tests/pod >"$work/all.yaml"
python - "$work/all.yaml" "$work/deployment.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
(deployment,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "service-a"]
yaml.safe_dump(deployment, open(sys.argv[2], "w"), sort_keys=False)
PY

log "fake upstream on :$upstream_port (the poller's fixture bodies, as the stack test serves them)"
# The stack test's own nginx config, on the host: its paths moved into $work, its port and root
# changed; the bodies' times are the time of each answer.
mkdir -p "$work/upstream"
ln -s "$PWD/poller/tests/fixtures/providers" "$work/upstream/providers"
sed -e "s#/tmp/#$work/#g" -e "s#listen 8080#listen $upstream_port#" -e "s#root /srv#root $work/upstream#" \
  tests/stack/fake-upstream.conf >"$work/upstream.conf"
nginx -c "$work/upstream.conf" -e stderr -g 'daemon off; user root;' >"$work/upstream.log" 2>&1 &
upstream_pid=$!

log "podman kube play"
quiet_podman kube play --replace "$work/deployment.yaml" >/dev/null
pod=$(podman pod ps --format '{{.Name}}' --filter name=service-a)
infra=$(podman pod inspect "$pod" --format '{{.InfraContainerID}}')
pod_ip=$(podman inspect "$infra" --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
echo "pod $pod at $pod_ip"

log "waiting for the price through api-a"
for _ in $(seq 1 60); do
  curl -fs "http://$pod_ip:8080/service1/current" >/dev/null 2>&1 && break
  sleep 1
done
current=$(curl -fsS "http://$pod_ip:8080/service1/current")
echo "/service1/current: $current"
same_cents "$(json_field price <<<"$current")" "$expected_price" \
  || die "api-a does not serve the fake upstream's price $expected_price"

log "each container runs as its manifest says"
python - "$work/deployment.yaml" >"$work/expected-users" <<'PY'
import sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))["spec"]["template"]["spec"]
for c in spec["containers"]:
    sc = c["securityContext"]
    print(c["name"], sc["runAsUser"], sc["runAsGroup"])
PY
while read -r name uid gid; do
  container="$pod-$name"
  # Numeric IDs from the kernel: podman top would print names from the image's /etc/passwd.
  main_pid=$(podman inspect "$container" --format '{{.State.Pid}}')
  user=$(awk '/^Uid:/ { print $3 }' "/proc/$main_pid/status")
  group=$(awk '/^Gid:/ { print $3 }' "/proc/$main_pid/status")
  read -r caps seccomp <<<"$(podman top "$container" capeff seccomp | tail -n 1)"
  readonly_rootfs=$(podman inspect "$container" --format '{{.HostConfig.ReadonlyRootfs}}')
  no_new_privileges=$(podman inspect "$container" --format '{{.HostConfig.SecurityOpt}}')
  echo "$name: uid=$user gid=$group effective-caps=$caps seccomp=$seccomp read-only=$readonly_rootfs $no_new_privileges"
  [ "$user" = "$uid" ] && [ "$group" = "$gid" ] || die "$name runs as $user:$group, not $uid:$gid"
  [ "$caps" = none ] || die "$name keeps capabilities: $caps"
  [ "$seccomp" = filter ] || die "$name runs without a seccomp filter"
  [ "$readonly_rootfs" = true ] || die "$name has a writable root filesystem"
  [[ $no_new_privileges == *no-new-privileges* ]] || die "$name may gain privileges"
done <"$work/expected-users"

log "Redis is bound to the pod's loopback only"
if timeout 3 bash -c "exec 3<>/dev/tcp/$pod_ip/6379" 2>/dev/null; then
  die "Redis answers on the pod IP"
fi
echo "ok: $pod_ip:6379 refuses connections, $pod_ip:8080 serves"

log "a Redis container restart inside the pod keeps the samples"
# The poller is stopped first: it would otherwise rewrite samples it still holds in memory.
quiet_podman stop "$pod-poller" >/dev/null
before=$(curl -fsS "http://$pod_ip:8080/service1/average")
quiet_podman restart "$pod-redis" >/dev/null
after=""
for _ in $(seq 1 30); do
  after=$(curl -fs "http://$pod_ip:8080/service1/average" 2>/dev/null) && break
  sleep 0.5
done
echo "before: $before"
echo "after:  $after"
[ -n "$after" ] || die "api-a does not answer after the Redis restart"
[ "$(json_field samples <<<"$before")" = "$(json_field samples <<<"$after")" ] \
  || die "the Redis restart lost samples"
