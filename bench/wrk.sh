#!/usr/bin/env bash
# Concurrency: wrk against demo-server's `GET /hello` and against hyper-hello (hyper's
# twin, the same response bytes), on 127.0.0.1 only.
#
#   bash bench/wrk.sh [--duration SECS] [--connections N] [--threads N] [--runs N]
#                     [--workers N]
#
# Defaults: 64 connections, 10 s per run, 2 wrk threads, each server run twice, both
# servers with 2 worker threads (the machine's cores). Runs are interleaved
# degu, hyper, hyper, degu, ... (ABBA, so a drift in background load hits both alike);
# prints requests/s per run, the medians and the degu/hyper ratio.
#
# Beside them runs the floor: hello-floor (bench/src/bin/hello-floor.rs), which answers
# every request head with the same bytes without parsing anything, on the same number of
# workers. Its ratio to hyper is the most any epoll server could show on this machine
# with wrk sharing its cores.
#
# demo-server runs with `-q` (no request log lines: hyper-hello writes none either),
# `--workers N --max-connections 128` (above the connection count,
# so nothing is evicted) and `--max-requests 4294967295`, so that it keeps connections
# open as hyper-hello does (degu-std's default closes one after 1000 requests, as the
# Python original; wrk would count those closes as read errors, printed below).
#
# wrk comes from Debian (`apt-get install wrk`), installed here when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=10
CONNECTIONS=64
THREADS=2
RUNS=2
WORKERS=2

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while (($#)); do
    case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian)"
    sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk
fi

cargo build --release -q -p degu-examples --bin demo-server
cargo build --release -q -p degu-bench --bin hyper-hello --bin hello-floor
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

tmp=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# start NAME COMMAND...: run a server that prints `listening on ADDR`; sets $address.
start() {
    local name=$1
    shift
    : >"$tmp/$name.out"
    "$@" >>"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids+=($!)
    local i
    for ((i = 0; i < 100; i++)); do
        address=$(sed -n 's/^listening on //p' "$tmp/$name.out")
        [[ -n $address ]] && return 0
        sleep 0.1
    done
    echo "error: $name did not start:" >&2
    cat "$tmp/$name.err" >&2
    exit 1
}

start degu "$target_dir/release/demo-server" -q --address 127.0.0.1:0 \
    --workers "$WORKERS" --max-connections 128 --max-requests 4294967295
degu=$address
start hyper "$target_dir/release/hyper-hello" --address 127.0.0.1:0 --workers "$WORKERS"
hyper=$address
start floor "$target_dir/release/hello-floor" --address 127.0.0.1:0 --workers "$WORKERS"
floor=$address

# Both must answer with the same bytes.
if command -v curl >/dev/null; then
    a=$(curl -si "http://$degu/hello")
    b=$(curl -si "http://$hyper/hello")
    if [[ $a != "$b" ]]; then
        printf 'error: the responses differ:\n--- degu\n%s\n--- hyper\n%s\n' "$a" "$b" >&2
        exit 1
    fi
    echo "same response from both: $(printf '%s' "$a" | tr '\r\n' '  ' | tr -s ' ')"
fi

echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $RUNS runs each, $(nproc) cores"
declare -A results=([degu]="" [hyper]="" [floor]="")
run() {
    local name=$1 addr=$2 out rps errors
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "http://$addr/hello")
    rps=$(sed -n 's/^Requests\/sec: *//p' <<<"$out")
    errors=$(sed -n 's/^ *Socket errors: *//p; s/^ *Non-2xx or 3xx responses: */non-2xx /p' <<<"$out" | tr '\n' ' ')
    results[$name]+="$rps "
    printf '%-6s %12s requests/s  %s\n' "$name" "$rps" "${errors:-no errors}"
}
for ((r = 0; r < RUNS; r++)); do
    if ((r % 2 == 0)); then
        run degu "$degu"
        run hyper "$hyper"
        run floor "$floor"
    else
        run floor "$floor"
        run hyper "$hyper"
        run degu "$degu"
    fi
done

median() {
    tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
md=$(median <<<"${results[degu]}")
mh=$(median <<<"${results[hyper]}")
mf=$(median <<<"${results[floor]}")
awk -v d="$md" -v h="$mh" -v f="$mf" 'BEGIN {
    printf "median  degu %.0f requests/s, hyper %.0f requests/s, degu/hyper %.2f\n", d, h, d / h
    printf "floor   %.0f requests/s, floor/hyper %.2f, degu/floor %.2f\n", f, f / h, d / f
}'
