#!/usr/bin/env bash
# Load-generator benchmark on loopback (not a test): launchready load against wrk (Debian) and oha (crates.io),
# all hitting the same static file served by a real nginx from Debian.
#
#   1. saturation: requests/s with 50 connections (closed model: --vus 50 / -c 50) and CPU per request
#      (user+system time of the generator ÷ requests);
#   2. a 2 s server stall: nginx's worker is frozen (SIGSTOP) for 2 s in the middle of a fixed-rate run
#      (500/s, 10 connections or in-flight slots) and each tool's p99 and max are read back;
#   3. memory per virtual user: peak RSS at 10,000 VUs all waiting on a server that never answers, minus the
#      peak RSS at 1 VU, divided by 9,999.
#
# Usage: [RUNS=N] [ONLY=lab] bench/load/run.sh [SECONDS]   (ONLY=lab: the lab rows alone; default 10 s per run; needs nginx, wrk, python3, and a release build:
#        cargo build --release -p launchready). oha is used from $OHA, else from PATH, else skipped with a note:
#        CARGO_INSTALL_ROOT=$(mktemp -d) cargo install oha --locked, then OHA=that/bin/oha.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS="${1:-10}"
LR="${LR:-$PWD/target/release/launchready}"
OHA="${OHA:-$(command -v oha || true)}"
T="$(mktemp -d)"
PORT="${PORT:-18181}"
HOLD_PORT="${HOLD_PORT:-18182}"
URL="http://127.0.0.1:$PORT/index.html"
ulimit -n 65536 2>/dev/null || true

for tool in nginx wrk python3 "$LR"; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 3; }
done

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
    [ -f "$T/nginx.pid" ] && kill "$(cat "$T/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT

chmod 755 "$T"
mkdir -p "$T/www"
head -c 612 /dev/zero | tr '\0' 'x' >"$T/www/index.html"
cat >"$T/nginx.conf" <<NGINX
worker_processes 1;
pid $T/nginx.pid;
error_log $T/error.log;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$PORT backlog=16384;
        root $T/www;
    }
}
NGINX
nginx -c "$T/nginx.conf" -p "$T"
sleep 0.5
worker="$(pgrep -P "$(cat "$T/nginx.pid")" | head -1)"
pids+=("$worker")

cat >"$T/static.hurl" <<HURL
GET $URL
HTTP 200
HURL
common=(--allow-host 127.0.0.1 --resolver 127.0.0.1:9 --quiet --format json --rate-ceiling 100000/s)

# Runs a command under /usr/bin/time; writes "elapsed user sys maxrss_kib" to $1.time and stdout to $1.out.
timed() {
    local name="$1"; shift
    /usr/bin/time -f "%e %U %S %M" -o "$T/$name.time" "$@" >"$T/$name.out" 2>"$T/$name.err" || true
    echo "\$ $*" >>"$T/commands.txt"
}
cpu() { tail -1 "$T/$1.time" | awk '{print $2 + $3}'; }
rss() { tail -1 "$T/$1.time" | awk '{print $4}'; }
jq_py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# Saturation runs back to back (wrk, launchready, launchready --no-fast-path, oha), RUNS times; medians are
# reported, with each run's figures and the load average before it (other builds share the machine).
RUNS="${RUNS:-3}"
rps_of() { # tool run -> requests/s
    case "$1" in
        wrk) awk '/Requests\/sec/ {print $2}' "$T/$2.out" ;;
        lr|lrslow) jq_py "$T/$2.out" "round(d['requests']['count'] / d['duration_s'])" ;;
        oha) jq_py "$T/$2.out" "round(d['summary']['requestsPerSec'])" ;;
    esac
}
req_of() { # tool run -> requests
    case "$1" in
        wrk) awk '/requests in/ {print $1}' "$T/$2.out" ;;
        lr|lrslow) jq_py "$T/$2.out" "d['requests']['count']" ;;
        oha) jq_py "$T/$2.out" "sum(d['statusCodeDistribution'].values())" ;;
    esac
}
median() { python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[1:] if x not in ('', 'n/a')]; print(round(statistics.median(v), 1) if v else 'n/a')" "$@"; }
# saturate PREFIX ROUND: one round of every tool on $WRK_ARGS, $LR_FLOW + $LR_ARGS, $OHA_ARGS; appends "tool rps cpu_us_per_req" lines to $T/PREFIX.rows
saturate() {
    local prefix="$1" i="$2"; shift 2
    echo "round $i: $(uptime)" >>"$T/uptime.txt"
    timed "${prefix}_wrk_$i" wrk -t2 -c50 -d"${SECS}s" "${WRK_ARGS[@]}"
    timed "${prefix}_lr_$i" "$LR" load "$LR_FLOW" --vus 50 --duration "${SECS}s" "${LR_ARGS[@]}"
    timed "${prefix}_lrslow_$i" "$LR" load "$LR_FLOW" --vus 50 --duration "${SECS}s" --no-fast-path "${LR_ARGS[@]}"
    if [ -n "$OHA" ]; then timed "${prefix}_oha_$i" "$OHA" -z "${SECS}s" -c 50 --no-tui --output-format json "${OHA_ARGS[@]}"; fi
    for tool in wrk lr lrslow oha; do
        [ -f "$T/${prefix}_${tool}_$i.time" ] || continue
        local rps req
        rps="$(rps_of "$tool" "${prefix}_${tool}_$i")"; req="$(req_of "$tool" "${prefix}_${tool}_$i")"
        echo "$tool $rps $(python3 -c "print(round($(cpu "${prefix}_${tool}_$i") / $req * 1e6, 1))")" >>"$T/$prefix.rows"
    done
}
col() { awk -v t="$2" '$1 == t {print $'"$3"'}' "$T/$1.rows"; }

if [ "${ONLY:-}" != lab ]; then
echo "== saturation (${SECS}s, 50 connections, $RUNS rounds)" >&2
WRK_ARGS=("$URL"); OHA_ARGS=("$URL"); LR_FLOW="$T/static.hurl"; LR_ARGS=("${common[@]}")
for i in $(seq "$RUNS"); do saturate sat "$i"; done
for tool in wrk lr lrslow oha; do
    eval "${tool}_rps=\"\$(median \$(col sat $tool 2))\""
    eval "${tool}_cpu=\"\$(median \$(col sat $tool 3))\""
done

echo "== 2 s stall at ${SECS}s/2 - 1 s, 500/s, 10 connections" >&2
stall() {
    sleep "$(python3 -c "print($SECS / 2 - 1)")"
    kill -STOP "$worker"; sleep 2; kill -CONT "$worker"
}
stall & timed wrk_stall wrk -t1 -c10 -d"${SECS}s" --latency "$URL"; wait
stall & timed lr_stall "$LR" load "$T/static.hurl" --rate 500/s --duration "${SECS}s" --max-in-flight 10 "${common[@]}"; wait
if [ -n "$OHA" ]; then
    stall & timed oha_stall "$OHA" -z "${SECS}s" -c 10 -q 500 --latency-correction --no-tui --output-format json "$URL"; wait
    stall & timed oha_stall_raw "$OHA" -z "${SECS}s" -c 10 -q 500 --no-tui --output-format json "$URL"; wait
fi
wrk_p99="$(awk '$1 == "99%" {print $2}' "$T/wrk_stall.out")"
wrk_max="$(awk '/Latency/ && !/Distribution/ {print $4; exit}' "$T/wrk_stall.out")"
lr_p99="$(jq_py "$T/lr_stall.out" "d['requests']['corrected']['p99']")"
lr_max="$(jq_py "$T/lr_stall.out" "d['requests']['corrected']['max']")"
lr_p99u="$(jq_py "$T/lr_stall.out" "d['requests']['uncorrected']['p99']")"
lr_maxu="$(jq_py "$T/lr_stall.out" "d['requests']['uncorrected']['max']")"
if [ -n "$OHA" ]; then
    oha_p99="$(jq_py "$T/oha_stall.out" "round(d['latencyPercentiles']['p99'] * 1000, 1)")"
    oha_max="$(jq_py "$T/oha_stall.out" "round(d['summary']['slowest'] * 1000, 1)")"
    oha_p99r="$(jq_py "$T/oha_stall_raw.out" "round(d['latencyPercentiles']['p99'] * 1000, 1)")"
    oha_maxr="$(jq_py "$T/oha_stall_raw.out" "round(d['summary']['slowest'] * 1000, 1)")"
fi

echo "== memory at 10,000 waiting VUs" >&2
python3 bench/load/hold_server.py "$HOLD_PORT" & pids+=("$!")
sleep 0.5
cat >"$T/hold.hurl" <<HURL
GET http://127.0.0.1:$HOLD_PORT/
HURL
timed lr_vu1 "$LR" load "$T/hold.hurl" --vus 1 --duration 5s --grace 1s --timeout 60s "${common[@]}"
timed lr_vu10k "$LR" load "$T/hold.hurl" --vus 10000 --duration 5s --grace 1s --timeout 60s "${common[@]}"
lr_per_vu="$(python3 -c "print(round(($(rss lr_vu10k) - $(rss lr_vu1)) / 9999, 1))")"
if [ -n "$OHA" ]; then
    timed oha_c1 "$OHA" -z 5s -c 1 --no-tui --output-format json "http://127.0.0.1:$HOLD_PORT/"
    timed oha_c10k "$OHA" -z 5s -c 10000 --no-tui --output-format json "http://127.0.0.1:$HOLD_PORT/"
    oha_per_vu="$(python3 -c "print(round(($(rss oha_c10k) - $(rss oha_c1)) / 9999, 1))")"
fi
fi # ONLY

LAB="${LAB:-$PWD/target/release/examples/lab_target}"
if [ -x "$LAB" ]; then
    mkfifo "$T/lab.in"
    "$LAB" <"$T/lab.in" >"$T/lab.out" 2>"$T/lab.err" &
    pids+=("$!")
    exec 9>"$T/lab.in"
    for _ in $(seq 100); do [ "$(wc -l <"$T/lab.out")" -ge 3 ] && break; sleep 0.1; done
    lab_host="$(sed -n 1p "$T/lab.out")"; lab_addr="$(sed -n 2p "$T/lab.out")"; lab_ca="$(sed -n 3p "$T/lab.out")"
    printf 'GET https://%s/healthz\nHTTP 200\n' "$lab_host" >"$T/lab.hurl"
    WRK_ARGS=(-H "Host: $lab_host" "https://$lab_addr/healthz")
    OHA_ARGS=(--insecure --connect-to "$lab_host:443:${lab_addr%:*}:${lab_addr##*:}" "https://$lab_host/healthz")
    LR_FLOW="$T/lab.hurl"
    # --http1.1: the lab offers HTTP/2, which the engine would take; wrk and oha speak HTTP/1.1, so this keeps the
    # comparison like for like (and lets the fast path arm). Without it, launchready's row is the engine over HTTP/2.
    LR_ARGS=(--http1.1 --connect-to "$lab_host:443:${lab_addr%:*}:${lab_addr##*:}" --ca-file "$lab_ca" --allow-host "$lab_host"
        --resolver 127.0.0.1:9 --quiet --format json)
    echo "== the lab's membership app over HTTPS (GET /healthz, 50 connections, $RUNS rounds)" >&2
    for i in $(seq "$RUNS"); do saturate lab "$i"; done
    for tool in wrk lr lrslow oha; do
        eval "lab_${tool}_rps=\"\$(median \$(col lab $tool 2))\""
        eval "lab_${tool}_cpu=\"\$(median \$(col lab $tool 3))\""
    done
    lab_lr_err="$(jq_py "$T/lab_lr_1.out" "d['requests']['failed']")"
    lab_lr_fast="$(jq_py "$T/lab_lr_1.out" "d['iterations']['fast_path']")"
    lab_wrk_err="$(awk '/Non-2xx|Socket errors/' "$T/lab_wrk_1.out" | tr -s ' ' | paste -sd';')"
    exec 9>&-
fi

ratio() { python3 -c "import sys; a,b=sys.argv[1:]; print('n/a' if 'n/a' in (a,b) or not b else round(float(a)/float(b), 2))" "$1" "$2"; }
if [ "${ONLY:-}" = lab ]; then
    echo
    echo "medians of $RUNS rounds; launchready's ratio to wrk and oha in brackets"
    echo
    echo "| | launchready load --http1.1 | launchready --http1.1 --no-fast-path | wrk | oha |"
    echo "|---|---|---|---|---|"
    echo "| lab app over HTTPS: requests/s (50 conns, ${SECS}s) | ${lab_lr_rps:-n/a} (×$(ratio "${lab_lr_rps:-n/a}" "${lab_wrk_rps:-n/a}") wrk, ×$(ratio "${lab_lr_rps:-n/a}" "${lab_oha_rps:-n/a}") oha; ${lab_lr_err:-?} failed) | ${lab_lrslow_rps:-n/a} | ${lab_wrk_rps:-n/a} ${lab_wrk_err:-} | ${lab_oha_rps:-n/a} |"
    echo "| lab app: CPU µs per request | ${lab_lr_cpu:-n/a} | ${lab_lrslow_cpu:-n/a} | ${lab_wrk_cpu:-n/a} | ${lab_oha_cpu:-n/a} |"
    echo
    echo "iterations on the fast path (first round): lab ${lab_lr_fast:-n/a}"
    echo
    echo "each round (tool requests/s cpu-µs-per-request):"
    [ -f "$T/lab.rows" ] && cat "$T/lab.rows"
    echo
    cat "$T/uptime.txt"
    echo
    echo "commands (in $T):"
    cat "$T/commands.txt"
    exit 0
fi
sat_fast="$(jq_py "$T/sat_lr_1.out" "d['iterations']['fast_path']")"
echo
echo "medians of $RUNS rounds; launchready's ratio to wrk and oha in brackets"
echo
echo "| | launchready load | launchready --no-fast-path | wrk | oha |"
echo "|---|---|---|---|---|"
echo "| nginx: requests/s at saturation (50 conns, ${SECS}s) | $lr_rps (×$(ratio "$lr_rps" "$wrk_rps") wrk, ×$(ratio "$lr_rps" "${oha_rps:-n/a}") oha) | $lrslow_rps | $wrk_rps | ${oha_rps:-n/a} |"
echo "| nginx: CPU µs per request (user+sys) | $lr_cpu | $lrslow_cpu | $wrk_cpu | ${oha_cpu:-n/a} |"
echo "| 2 s stall: p99 / max ms (corrected) | $lr_p99 / $lr_max | | n/a (closed model) | ${oha_p99:-n/a} / ${oha_max:-n/a} |"
echo "| 2 s stall: p99 / max ms (as sent) | $lr_p99u / $lr_maxu | | $wrk_p99 / $wrk_max | ${oha_p99r:-n/a} / ${oha_maxr:-n/a} |"
echo "| KiB per waiting VU at 10,000 | $lr_per_vu | | n/a | ${oha_per_vu:-n/a} |"
echo "| lab app over HTTPS: requests/s (50 conns) | ${lab_lr_rps:-n/a} (×$(ratio "${lab_lr_rps:-n/a}" "${lab_wrk_rps:-n/a}") wrk, ×$(ratio "${lab_lr_rps:-n/a}" "${lab_oha_rps:-n/a}") oha; ${lab_lr_err:-?} failed) | ${lab_lrslow_rps:-n/a} | ${lab_wrk_rps:-n/a} ${lab_wrk_err:-} | ${lab_oha_rps:-n/a} |"
echo "| lab app: CPU µs per request | ${lab_lr_cpu:-n/a} | ${lab_lrslow_cpu:-n/a} | ${lab_wrk_cpu:-n/a} | ${lab_oha_cpu:-n/a} |"
echo
echo "iterations on the fast path (first round): nginx $sat_fast, lab ${lab_lr_fast:-n/a}"
echo
echo "each round (tool requests/s cpu-µs-per-request):"
for prefix in sat lab; do [ -f "$T/$prefix.rows" ] && { echo "$prefix:"; cat "$T/$prefix.rows"; }; done
echo
cat "$T/uptime.txt"
echo
echo "peak RSS KiB: launchready 1 VU $(rss lr_vu1), 10,000 VUs $(rss lr_vu10k); completed at 10k: $(jq_py "$T/lr_vu10k.out" "d['iterations']['started']") started"
echo
echo "commands (in $T):"
cat "$T/commands.txt"
