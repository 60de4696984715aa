#!/usr/bin/env bash
# Monitor benchmark on loopback (not a test; CI never runs it): `launchready monitor` running CHECKS HTTPS checks
# per minute against a real nginx from Debian, side by side with prometheus-blackbox-exporter (Debian) probing the
# same URLs at the same rate, driven by driver.py (the scheduler the exporter leaves to Prometheus).
#
#   1. launchready monitor, product defaults (every 1m, jitter 0.1): checks/s, CPU, peak RSS, and the scheduler
#      lag as a lower bound (only what exceeds the jitter counts);
#   2. launchready monitor with jitter = 0: the same, with an exact scheduler lag (intended start vs `at_ms`);
#   2b. launchready monitor --once on the same manifest: every check once, then one evaluation — what the checks
#      themselves cost, with one alert evaluation at the end;
#   2c. the same on a database already holding 50 results per check, as after 50 minutes: the difference from 2b
#      is roughly one alert evaluation at steady state;
#   3. blackbox exporter + driver.py at CHECKS/60 probes per second: probes/s, the driver's lag, the exporter's
#      CPU and peak RSS, and the driver's own CPU reported apart.
#
# Usage: bench/monitor/run.sh [SECONDS] [CHECKS]   (defaults: 180 s per run, 10000 checks per minute)
#        needs nginx, prometheus-blackbox-exporter, openssl, python3 and a release build:
#        cargo build --release -p launchready.  RUNS="defaults jitter0 once steady blackbox" (the default) picks the runs
#        (steady needs once).
#        PERF=N: N seconds of `perf record -g` on launchready monitor, starting 30 s into each of its runs (a
#        profile run: it disturbs that run's CPU figures); the report is written to $T/perf-NAME.txt.
#        SYNCS=N: count the monitor's fsync/fdatasync calls (one per SQLite commit: a batch of results or an alert
#        evaluation) for N seconds from 30 s into each of its runs, with `perf stat`, into $T/syncs-NAME.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS="${1:-180}"
CHECKS="${2:-10000}"
LR="${LR:-$PWD/target/release/launchready}"
BBX="${BBX:-$(command -v prometheus-blackbox-exporter || true)}"
HERE="$PWD/bench/monitor"
PORT="${PORT:-18281}"
BB_PORT="${BB_PORT:-19115}"
T="$(mktemp -d)"
RATE="$(python3 -c "print($CHECKS / 60)")"
ROUTES=$((CHECKS - 5)) # the plan adds the landing page, /login, /checkout, /members and the certificate check
ulimit -n 65536 2>/dev/null || true

for tool in nginx openssl python3 "$LR" "$BBX"; do
    command -v "$tool" >/dev/null || { echo "missing: ${tool:-prometheus-blackbox-exporter}" >&2; exit 3; }
done

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$T/nginx.pid" ] && kill "$(cat "$T/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
# CPU seconds (user + system, all threads) a live process has used so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); print ($12 + $13) / hz}' "/proc/$1/stat"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
calc() { python3 -c "print($1)"; }
log() { echo "$*" >&2; }

# A private CA and a certificate for bench.test, so both tools verify TLS as they would in production.
chmod 755 "$T"
openssl ecparam -name prime256v1 -genkey -noout -out "$T/ca.key" 2>/dev/null
openssl req -x509 -new -key "$T/ca.key" -sha256 -days 30 -subj "/CN=bench CA" -out "$T/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$T/leaf.key" 2>/dev/null
openssl req -new -key "$T/leaf.key" -subj "/CN=bench.test" -out "$T/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:bench.test\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >"$T/leaf.ext"
openssl x509 -req -in "$T/leaf.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 30 -sha256 \
    -extfile "$T/leaf.ext" -out "$T/leaf.pem" 2>/dev/null

# Every path answers 200 with a small body: the targets differ only by path, as a site's routes do.
cat >"$T/nginx.conf" <<NGINX
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx-error.log;
events { worker_connections 20000; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$PORT ssl backlog=16384;
        server_name bench.test;
        ssl_certificate $T/leaf.pem;
        ssl_certificate_key $T/leaf.key;
        location / { default_type text/plain; return 200 "ok\n"; }
    }
}
NGINX
nginx -c "$T/nginx.conf" -p "$T"
sleep 0.5
nginx_worker="$(pgrep -P "$(cat "$T/nginx.pid")" | head -1)"

# The manifest: ROUTES routes of kind `other` plus what the plan adds by default, every minute.
manifest() {
    python3 - "$1" "$ROUTES" "$T" "$2" >"$T/launchready-$2.toml" <<'PY'
import sys
jitter, routes, t = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print('[site]\ndomain = "bench.test"\ncanonical = "https://bench.test/"\nsubdomains = []\n')
print(f'[monitor]\nphases = [{{ every = "1m" }}]\ndatabase = "{t}/monitor-{sys.argv[4]}.db"')
if jitter != "default":
    print(f"jitter = {jitter}")
print()
for n in range(1, routes + 1):
    print(f'[[route]]\nname = "p{n}"\npath = "/p/{n}"\nkind = "other"\n')
PY
}
# The same URLs for the exporter, by address (the exporter has no --connect-to; Host and SNI come from its module).
{
    echo "https://127.0.0.1:$PORT/"
    echo "https://127.0.0.1:$PORT/"
    for p in login checkout members; do echo "https://127.0.0.1:$PORT/$p"; done
    for n in $(seq 1 "$ROUTES"); do echo "https://127.0.0.1:$PORT/p/$n"; done
} >"$T/targets.txt"
cat >"$T/blackbox.yml" <<YML
modules:
  bench:
    prober: http
    timeout: 10s
    http:
      method: GET
      valid_status_codes: [200]
      no_follow_redirects: true
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      headers:
        Host: bench.test
      tls_config:
        ca_file: $T/ca.pem
        server_name: bench.test
YML

net=(--connect-to "bench.test:443:127.0.0.1:$PORT" --ca-file "$T/ca.pem" --resolver 127.0.0.1:9)

# Runs launchready monitor for SECS after it says its checks are running; writes $T/lr-NAME.json.
run_monitor() {
    local name="$1" jitter="$2" interval_jitter
    manifest "$jitter" "$name"
    local m="$T/launchready-$name.toml"
    "$LR" monitor --manifest "$m" --list | awk '$1 != "alert" {print $1}' >"$T/ids-$name.txt"
    echo "\$ $LR monitor --manifest $m ${net[*]}" >>"$T/commands.txt"
    log "== launchready monitor ($name): $(wc -l <"$T/ids-$name.txt") checks, ${SECS}s; load $(load)"
    local load0; load0="$(load)"
    # The window (and CPU time) starts at launch: with jitter 0 every check runs the moment the runner starts.
    local t0 c0=0 n0; t0="$(now_ms)"; n0="$(cpu_s "$nginx_worker")"
    "$LR" monitor --manifest "$m" "${net[@]}" >"$T/lr-$name.out" 2>"$T/lr-$name.err" &
    local pid=$!
    pids+=("$pid")
    if [ -n "${SYNCS:-}" ]; then
        (sleep 30; perf stat -e 'syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync' -p "$pid" \
            -o "$T/syncs-$name.txt" -- sleep "$SYNCS" >/dev/null 2>&1) &
    fi
    if [ -n "${PERF:-}" ]; then
        sleep 30
        perf record -F 499 -g -o "$T/perf-$name.data" -p "$pid" -- sleep "$PERF" 2>/dev/null >/dev/null
        perf report -i "$T/perf-$name.data" --no-children --percent-limit 0.7 --stdio 2>/dev/null \
            | grep -v '^$' | head -300 >"$T/perf-$name.txt"
        perf report -i "$T/perf-$name.data" --children --sort symbol --percent-limit 2 --stdio -g none 2>/dev/null \
            | grep -v '^$' | head -120 >"$T/perf-$name-children.txt"
        sleep "$(calc "max(0, $SECS - 30 - $PERF)")"
    else
        sleep "$SECS"
    fi
    local t1 c1 n1 hwm; t1="$(now_ms)"; c1="$(cpu_s "$pid")"; n1="$(cpu_s "$nginx_worker")"; hwm="$(hwm_kib "$pid")"
    local load1; load1="$(load)"
    kill -INT "$pid"
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    interval_jitter="$([ "$jitter" = default ] && echo 0.1 || echo "$jitter")"
    python3 "$HERE/analyze.py" "$T/monitor-$name.db" "$t0" "$t1" 60 "$interval_jitter" "$T/ids-$name.txt" >"$T/lr-$name.analysis.json"
    python3 - "$T/lr-$name.analysis.json" "$(calc "$c1 - $c0")" "$hwm" "$(calc "$n1 - $n0")" "$load0" "$load1" \
        "$(grep -c . "$T/lr-$name.err" || true)" >"$T/lr-$name.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d.update(cpu_s=float(sys.argv[2]), peak_rss_kib=int(sys.argv[3]), nginx_cpu_s=float(sys.argv[4]),
         load_before=sys.argv[5], load_after=sys.argv[6], stderr_lines=int(sys.argv[7]))
print(json.dumps(d))
PY
    log "   $(cat "$T/lr-$name.json")"
}

# Every check once and one evaluation (`--once`), timed as a whole; writes $T/lr-NAME.json. With PREFILL > 0 the
# database starts as a copy of the `once` run's with PREFILL more results per check (earlier copies, one interval
# apart), so its one evaluation reads what a monitor that has run for a while reads (the rules look at up to 50).
run_once() {
    local name="$1" prefill="${2:-0}"
    manifest 0 "$name"
    local m="$T/launchready-$name.toml"
    if [ "$prefill" -gt 0 ]; then
        python3 - "$T/monitor-once.db" "$T/monitor-$name.db" "$prefill" <<'PY'
import sqlite3, sys
src, dst = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
src.backup(dst)
cols = [r[1] for r in dst.execute("PRAGMA table_info(results)") if r[1] not in ("id", "at_ms")]
listed = ", ".join(cols)
first = dst.execute("SELECT MAX(id) FROM results").fetchone()[0]
for k in range(1, int(sys.argv[3]) + 1):
    dst.execute(f"INSERT INTO results (at_ms, {listed}) SELECT at_ms - {k * 60000}, {listed} FROM results "
                f"WHERE id <= {first}")
dst.commit()
PY
    fi
    log "== launchready monitor --once ($name): $CHECKS checks; load $(load)"
    local load0 n0; load0="$(load)"; n0="$(cpu_s "$nginx_worker")"
    echo "\$ $LR monitor --once --manifest $m ${net[*]}" >>"$T/commands.txt"
    /usr/bin/time -f "%e %U %S %M" -o "$T/$name.time" "$LR" monitor --once --manifest "$m" "${net[@]}" \
        >"$T/lr-$name.out" 2>"$T/lr-$name.err" || true
    local n1; n1="$(cpu_s "$nginx_worker")"
    python3 - "$T/$name.time" "$T/lr-$name.out" "$(calc "$n1 - $n0")" "$load0" "$(load)" "$T/monitor-$name.db" \
        >"$T/lr-$name.json" <<'PY'
import json, sqlite3, sys
elapsed, user, system, rss = open(sys.argv[1]).read().split()[-4:]
summary = open(sys.argv[2]).read().strip().splitlines()[-1:]
stored = sqlite3.connect(sys.argv[6]).execute("SELECT COUNT(*) FROM results").fetchone()[0]
print(json.dumps({"elapsed_s": float(elapsed), "cpu_s": round(float(user) + float(system), 2), "peak_rss_kib": int(rss),
                  "summary": summary[0] if summary else "", "nginx_cpu_s": float(sys.argv[3]),
                  "load_before": sys.argv[4], "load_after": sys.argv[5], "results_stored_after": stored}))
PY
    log "   $(cat "$T/lr-$name.json")"
}

run_blackbox() {
    log "== prometheus-blackbox-exporter + driver.py at ${RATE}/s, ${SECS}s; load $(load)"
    local load0; load0="$(load)"
    "$BBX" --config.file="$T/blackbox.yml" --web.listen-address="127.0.0.1:$BB_PORT" --log.level=warn \
        >"$T/bbx.out" 2>"$T/bbx.err" &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $BB_PORT), 1)" 2>/dev/null && break; sleep 0.1; done
    echo "\$ $BBX --config.file=$T/blackbox.yml --web.listen-address=127.0.0.1:$BB_PORT --log.level=warn" >>"$T/commands.txt"
    echo "\$ python3 $HERE/driver.py 127.0.0.1:$BB_PORT bench $T/targets.txt $RATE $SECS" >>"$T/commands.txt"
    local c0 n0; c0="$(cpu_s "$pid")"; n0="$(cpu_s "$nginx_worker")"
    /usr/bin/time -f "%e %U %S %M" -o "$T/driver.time" \
        python3 "$HERE/driver.py" "127.0.0.1:$BB_PORT" bench "$T/targets.txt" "$RATE" "$SECS" >"$T/driver.json"
    local c1 n1 hwm; c1="$(cpu_s "$pid")"; n1="$(cpu_s "$nginx_worker")"; hwm="$(hwm_kib "$pid")"
    local load1; load1="$(load)"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    python3 - "$T/driver.json" "$(calc "$c1 - $c0")" "$hwm" "$(calc "$n1 - $n0")" "$T/driver.time" "$load0" "$load1" \
        >"$T/bbx.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
_, user, system, rss = open(sys.argv[5]).read().split()[-4:]
d.update(cpu_s=float(sys.argv[2]), peak_rss_kib=int(sys.argv[3]), nginx_cpu_s=float(sys.argv[4]),
         driver_cpu_s=round(float(user) + float(system), 2), driver_peak_rss_kib=int(rss),
         load_before=sys.argv[6], load_after=sys.argv[7])
print(json.dumps(d))
PY
    log "   $(cat "$T/bbx.json")"
}

log "bench in $T; $(nproc) CPUs; $(uptime)"
RUNS="${RUNS:-defaults jitter0 once steady blackbox}"
case " $RUNS " in *" defaults "*) run_monitor defaults default ;; esac
case " $RUNS " in *" jitter0 "*) run_monitor jitter0 0 ;; esac
case " $RUNS " in *" once "*) run_once once ;; esac
case " $RUNS " in *" steady "*) run_once steady 49 ;; esac
case " $RUNS " in *" blackbox "*) run_blackbox ;; esac

# One table row per tool and run.
python3 - "$T" "$CHECKS" "$SECS" <<'PY'
import json, os, sys
t, checks, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def per_k(cpu, n):
    return f"{cpu / n * 1000:.2f}" if n else "n/a (no checks)"
print(f"\n{checks} checks per minute ({checks / 60:.1f}/s due), {secs}s per run\n")
print("| | checks/s (whole run / last minute) | ok | lag p50 / p99 / max ms: first runs; next runs | CPU s per 1,000 checks | peak RSS MiB | nginx CPU s | load avg before → after |")
print("|---|---|---|---|---|---|---|---|")
for name, label in (("defaults", "launchready monitor (jitter 0.1, lag ≥)"), ("jitter0", "launchready monitor (jitter 0)")):
    path = f"{t}/lr-{name}.json"
    if not os.path.exists(path):
        continue
    d = json.load(open(path))
    lag, first, later = d["lag_ms"], d["first_run_lag_ms"], d["next_run_lag_ms"]
    print(f"| {label} | {d['per_s']} / {d['per_s_last_minute']} | {d['ok']}/{d['results']} "
          f"| {first['p50']} / {first['p99']} / {first['max']}; {later['p50']} / {later['p99']} / {later['max']} "
          f"({lag['overdue']} of {d['checks_planned']} overdue at the end) "
          f"| {per_k(d['cpu_s'], d['results'])} | {d['peak_rss_kib'] / 1024:.1f} | {d['nginx_cpu_s']:.1f} "
          f"| {d['load_before']} → {d['load_after']} |")
for name, label in (("once", "launchready monitor --once"), ("steady", "--once, 50 results per check stored")):
    if not os.path.exists(f"{t}/lr-{name}.json"):
        continue
    d = json.load(open(f"{t}/lr-{name}.json"))
    print(f"| {label} | {checks / d['elapsed_s']:.1f} (all at once, {d['elapsed_s']} s) "
          f"| {d['summary']} | — | {per_k(d['cpu_s'], checks)} | {d['peak_rss_kib'] / 1024:.1f} | {d['nginx_cpu_s']:.1f} "
          f"| {d['load_before']} → {d['load_after']} |")
d = json.load(open(f"{t}/bbx.json")) if os.path.exists(f"{t}/bbx.json") else None
lag = d and d["lag_ms"]
d and print(f"| blackbox exporter 0.23 (driver's lag) | {d['answered_per_s']} | {d['probe_ok']}/{d['answered']} "
      f"| {lag['p50']} / {lag['p99']} / {lag['max']} | {per_k(d['cpu_s'], d['answered'])} "
      f"(+ driver {per_k(d['driver_cpu_s'], d['answered'])}) | {d['peak_rss_kib'] / 1024:.1f} "
      f"(driver {d['driver_peak_rss_kib'] / 1024:.1f}) | {d['nginx_cpu_s']:.1f} | {d['load_before']} → {d['load_after']} |")
print("\nper minute (launchready, results started in each minute of the window):")
for name in ("defaults", "jitter0"):
    path = f"{t}/lr-{name}.json"
    if os.path.exists(path):
        print(f"  {name}: {json.load(open(path))['per_minute']}")
PY
echo
echo "commands (in $T):"
cat "$T/commands.txt"
