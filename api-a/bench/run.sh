#!/usr/bin/env bash
# Throughput, latency and memory of api-a answering from its in-memory snapshot.
#
# Builds api-a in release, starts a throw-away redis-server and api-a on free loopback ports,
# seeds samples in the poller's format (examples/seed.rs), then runs wrk against /current and
# /average and prints requests/s, latency and api-a's resident memory. The yardstick, measured
# in the same run with the same wrk settings: nginx answering the same /current body from its
# configuration (`return 200`), the cheapest answer an HTTP server can give.
# Needs redis-server, nginx and wrk (Debian: apt-get install redis-server nginx wrk).
# Not part of the tests.
#
# Usage: api-a/bench/run.sh [DURATION (default 10s)] [CONNECTIONS (default 64)] [THREADS (default 2)]
set -euo pipefail

duration=${1:-10s}
connections=${2:-64}
threads=${3:-2}

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

for tool in redis-server nginx wrk; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found (apt-get install $tool)" >&2; exit 1; }
done

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_http() { # url expected-status
    for _ in $(seq 100); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = "$2" ]; then return 0; fi
        sleep 0.1
    done
    echo "bench: $1 did not answer $2" >&2
    exit 1
}

rss_kib() {
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

# run_wrk URL: wrk's summary lines, and the requests per second in $work/rps.
run_wrk() {
    wrk -t"$threads" -c"$connections" -d"$duration" --latency "$1" >"$work/wrk.out"
    grep -E 'Requests/sec|Latency |50%|99%|requests in|Non-2xx|Socket errors' "$work/wrk.out"
    awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out" >"$work/rps"
}

echo "== building (release)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p api-a --bin api-a --example seed
target_dir=$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

redis_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$work" \
    >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
redis_url="redis://127.0.0.1:$redis_port"
"$target_dir/release/examples/seed" "$redis_url" 60 10s

api_port=$(free_port)
LISTEN_ADDR="127.0.0.1:$api_port" REDIS_URL="$redis_url" BASE_PATH=/service1 LOG_LEVEL=warn \
    "$target_dir/release/api-a" >"$work/api-a.log" 2>&1 &
api_pid=$!
pids+=("$api_pid")
base="http://127.0.0.1:$api_port"
wait_for_http "$base/readyz" 200
wait_for_http "$base/service1/current" 200

echo "== api-a $(cargo pkgid --manifest-path "$root/Cargo.toml" -p api-a | sed 's/.*#//'), $(nproc) CPUs, wrk -t$threads -c$connections -d$duration"
echo "RSS idle: $(rss_kib "$api_pid") KiB"
declare -A rps
for route in current average; do
    echo
    echo "== api-a: GET /service1/$route"
    curl -s "$base/service1/$route"
    echo
    run_wrk "$base/service1/$route"
    rps[$route]=$(cat "$work/rps")
    echo "RSS after: $(rss_kib "$api_pid") KiB"
done

nginx_port=$(free_port)
body=$(curl -s "$base/service1/current")
cat >"$work/nginx.conf" <<CONF
worker_processes $(nproc);
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$nginx_port;
        location / { default_type application/json; return 200 '$body'; }
    }
}
CONF
nginx -e "$work/nginx-error.log" -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)
wait_for_http "http://127.0.0.1:$nginx_port/" 200
echo
echo "== nginx ($(nproc) workers): the same /current body from its configuration"
run_wrk "http://127.0.0.1:$nginx_port/"
rps[nginx]=$(cat "$work/rps")

echo
echo "== ratios, this run (api-a and nginx each with $(nproc) workers, wrk on the same machine)"
for route in current average; do
    awk -v a="${rps[$route]}" -v n="${rps[nginx]}" -v r="$route" \
        'BEGIN { printf "api-a /%-8s %10.0f req/s = %.2f x nginx (%.0f req/s)\n", r, a, a / n, n }'
done
