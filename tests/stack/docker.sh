# Docker helpers for the suites that run the real images (sourced after tests/lib.sh).

# The third-party images the Dockerfile and docker-compose.yml start FROM, pinned by digest
# (name:tag@sha256:...). The suites run each under its name:tag, which tests/stack/base-images.sh
# makes from the pinned image where a registry answers, or builds as a local stand-in where none
# does (CI), and point the build argument or compose variable at that name.
base_images=()
while read -r variable reference; do
  base_images+=("$reference")
  export "$variable=${reference%@*}"
done < <(python3 tests/supply-chain/pins.py overrides .)
readonly base_images

# ensure_docker: uses the running Docker engine; on a Debian machine without one (CI), installs
# and starts one on its own socket.
ensure_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  [ "$(id -u)" -eq 0 ] || die "no Docker engine answers: start Docker (or run as root on Debian to have one started)"
  require_packages docker.io:dockerd docker-compose:docker-compose
  export DOCKER_HOST=unix:///run/docker-ci.sock
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd (socket $DOCKER_HOST)"
    # The daemon outlives this suite: it keeps none of the suite's open files (a lock a caller
    # holds, a pipe a runner waits on), only its log.
    (
      for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
      exec setsid dockerd --data-root /var/lib/docker-ci --exec-root /run/docker-ci \
        --host "$DOCKER_HOST" --pidfile /run/docker-ci.pid </dev/null >/tmp/dockerd-ci.log 2>&1
    ) &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && return 0; sleep 0.5; done
    die "dockerd did not start; see /tmp/dockerd-ci.log"
  fi
}
