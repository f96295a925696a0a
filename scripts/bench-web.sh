#!/usr/bin/env bash
# Web and engine benchmark, with its references measured side by side in the same run.
#
#   make bench-web            (builds the release binaries first, then runs this script)
#
# On a 1-blade simulated chassis (release binaries, port 18180, directory /tmp/chassis-bench):
#   a. GET /api/v1/chassis through nginx + FastCGI (chassis-web) against the same nginx binary
#      serving a static file of the same bytes (a second nginx on 127.0.0.1:18181), plus the
#      conditional path of a polling browser (If-None-Match with the last ETag: 304 or 200).
#      wrk, interleaved runs (static, api, conditional) x RUNS; medians of req/s and p99.
#   b. CPU share (percent of one core, from utime+stime in /proc/PID/stat) and resident memory
#      of the idle engine over CPU_WINDOW seconds at its default intervals, next to nginx (master
#      and workers), the web app, and a reference: prometheus-node-exporter scraped once a second
#      when it is installed (it is never installed by this script), otherwise an idle `sleep`.
#      Meanwhile one simulated browser tab polls the API every 2 s with If-None-Match, as
#      Public/app.js does, to show how often an idle chassis answers 304.
#   c. chassis-web's resident memory before and after the load.
#
# Settings (environment): BENCH_BIN (default .build/release), BENCH_PORT (18180), BENCH_PEER_PORT
# (7180, the engine's peer transport), BENCH_DIR (/tmp/chassis-bench), BENCH_RUNS (3),
# BENCH_DURATION (10s), BENCH_CONNECTIONS (16), BENCH_THREADS (2), BENCH_CPU_WINDOW (60),
# BENCH_STRICT=1 (exit 1 when a goal is missed).
# Only 127.0.0.0/8 is used. Every process this script starts is stopped on exit, by PID.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BENCH_BIN:-$ROOT/.build/release}"
PORT="${BENCH_PORT:-18180}"
STATIC_PORT="${BENCH_STATIC_PORT:-18181}"
EXPORTER_PORT="${BENCH_EXPORTER_PORT:-18182}"
PEER_PORT="${BENCH_PEER_PORT:-7180}" # engines' peer transport; a developer's demo uses 7400
DIR="${BENCH_DIR:-/tmp/chassis-bench}"
RUNS="${BENCH_RUNS:-3}"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
THREADS="${BENCH_THREADS:-2}"
CPU_WINDOW="${BENCH_CPU_WINDOW:-60}"
BLADES=1
BLADE_ADDRESS="127.0.1.1"
STATIC_ADDRESS="127.0.0.1"
API_PATH="/api/v1/chassis"
HELPER="$ROOT/scripts/bench/helper.py"
CTL="$BIN/chassisctl"

log() { printf 'bench-web: %s\n' "$*" >&2; }
die() { printf 'bench-web: FAILED: %s\n' "$*" >&2; exit 1; }

# --- prerequisites -------------------------------------------------------------------------------
for binary in chassisctl chassis-engine chassis-web; do
  [ -x "$BIN/$binary" ] || die "$BIN/$binary is not built; run: make build-release (or swift build -c release)"
done
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  log "wrk or nginx missing; installing through scripts/install-deps.sh"
  "$ROOT/scripts/install-deps.sh" wrk nginx --
fi
command -v wrk >/dev/null || die "wrk is not installed (make deps)"
command -v python3 >/dev/null || die "python3 is needed"
NGINX="$(command -v nginx)"
CLK_TCK="$(getconf CLK_TCK)"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- clean-up, even on failure ------------------------------------------------------------------
WORK="$(mktemp -d /tmp/chassis-bench-work.XXXXXX)"
chmod 0755 "$WORK" # nginx workers (user nobody when started as root) read the static file from here
STATIC_NGINX_PID=""
REFERENCE_PID=""
POLLER_PID=""
BROWSER_POLL_PID=""
DEMO_STARTED=0

stop_pid() { # PID: SIGTERM, wait up to 5 s, then SIGKILL. Only PIDs this script started.
  local pid="$1" waited=0
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt 50 ]; do sleep 0.1; waited=$((waited + 1)); done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_pid "$POLLER_PID"
  stop_pid "$BROWSER_POLL_PID"
  stop_pid "$REFERENCE_PID"
  stop_pid "$STATIC_NGINX_PID"
  if [ "$DEMO_STARTED" = 1 ] || [ -f "$DIR/demo.json" ]; then
    "$CTL" demo down --dir "$DIR" >/dev/null 2>&1 || log "warning: chassisctl demo down --dir $DIR failed"
  fi
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- measurement helpers ------------------------------------------------------------------------
cpu_ticks() { # PID...: utime + stime summed over the PIDs (fields 14 and 15 of /proc/PID/stat)
  local total=0 pid ticks
  for pid in "$@"; do
    ticks=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}') || ticks=0
    total=$((total + ${ticks:-0}))
  done
  echo "$total"
}
rss_kb() { # PID...: VmRSS summed (kB)
  local total=0 pid kb
  for pid in "$@"; do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || kb=0
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}
pss_kb() { # PID...: Pss summed (kB), shared pages split between the processes sharing them
  local total=0 pid kb
  for pid in "$@"; do
    kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null) || kb=0
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
percent() { # TICKS SECONDS -> percent of one core
  awk -v t="$1" -v s="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", 100 * t / hz / s }'
}
median() { # numbers on stdin -> median
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
now() { date +%s.%N; }

# wrk output -> "RPS P99_MS ERRORS" (errors: socket errors plus non-2xx/3xx responses)
parse_wrk() {
  awk '
    function ms(value) {
      if (value ~ /us$/) { sub(/us$/, "", value); return value / 1000 }
      if (value ~ /ms$/) { sub(/ms$/, "", value); return value + 0 }
      if (value ~ /s$/)  { sub(/s$/, "", value);  return value * 1000 }
      return value + 0
    }
    /Requests\/sec:/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    /Socket errors:/ { line = $0; gsub(/[^0-9 ]/, " ", line); n = split(line, f, " "); for (i = 1; i <= n; i++) errors += f[i] }
    END { printf "%s %.3f %d\n", rps, p99, errors + 0 }
  ' "$1"
}

# --- the demo ------------------------------------------------------------------------------------
if [ -f "$DIR/demo.json" ]; then
  log "a previous bench demo is recorded in $DIR; stopping it first"
  "$CTL" demo down --dir "$DIR" >/dev/null 2>&1 || true
fi
log "starting a $BLADES-blade demo with $BIN (port $PORT, directory $DIR)"
DEMO_STARTED=1
peer_option=()
if "$CTL" demo up --help 2>/dev/null | grep -q -- '--peer-port'; then peer_option=(--peer-port "$PEER_PORT"); fi
if ! "$CTL" demo up --blades "$BLADES" --dir "$DIR" --port "$PORT" "${peer_option[@]}" --root "$ROOT" >"$WORK/demo-up.log" 2>&1; then
  cat "$WORK/demo-up.log" >&2
  for file in "$DIR"/blade1/*.log "$DIR"/blade1/nginx/error.log; do
    [ -f "$file" ] && { echo "--- $file (last lines)" >&2; tail -n 15 "$file" >&2; }
  done
  die "the demo did not come up (chassisctl demo up --blades $BLADES --dir $DIR --port $PORT ${peer_option[*]})"
fi
read -r ENGINE_PID WEB_PID NGINX_PID < <(python3 "$HELPER" pids "$DIR" 1) || die "cannot read PIDs from $DIR/demo.json"
for name in ENGINE_PID WEB_PID; do
  pid="${!name}"
  [ "${pid:-0}" -gt 0 ] && kill -0 "$pid" 2>/dev/null || die "$name ($pid) from $DIR/demo.json is not running"
done
ENGINE_COMM="$(cat "/proc/$ENGINE_PID/comm")"
[ "$ENGINE_COMM" = "chassis-engine" ] || log "note: the engine PID $ENGINE_PID is '$ENGINE_COMM', not chassis-engine"
# nginx's own pid file names the master when nginx daemonises (then demo.json's PID is gone).
if [ -s "$DIR/blade1/nginx/nginx.pid" ] && kill -0 "$(cat "$DIR/blade1/nginx/nginx.pid")" 2>/dev/null; then
  NGINX_PID="$(cat "$DIR/blade1/nginx/nginx.pid")"
fi
kill -0 "$NGINX_PID" 2>/dev/null || die "nginx ($NGINX_PID) of blade 1 is not running"
read -r -a NGINX_PIDS < <(python3 "$HELPER" tree "$NGINX_PID")

# The blade must be the active manager before /api/v1/chassis answers 200 (not 302/503).
deadline=$((SECONDS + 30))
while :; do
  read -r status size etag < <(python3 "$HELPER" fetch "$BLADE_ADDRESS" "$PORT" "$API_PATH" "$WORK/body" 2>/dev/null || echo "000 0 -")
  [ "$status" = 200 ] && break
  [ $SECONDS -lt $deadline ] || die "GET http://$BLADE_ADDRESS:$PORT$API_PATH answers $status, not 200, after 30 s"
  sleep 0.5
done
log "demo up: engine $ENGINE_PID, web $WEB_PID, nginx ${NGINX_PIDS[*]}; $API_PATH is $size bytes"

# --- the static reference: same nginx binary, same bytes, on another port -----------------------
mkdir -p "$WORK/static-root" "$WORK/static-nginx"
BLADE_CONF="$DIR/blade1/nginx/nginx.conf"
workers="$(awk '$1 == "worker_processes" { gsub(/;/, "", $2); print $2; exit }' "$BLADE_CONF" 2>/dev/null)"
workers="${workers:-1}"
if grep -Eq '^[[:space:]]*access_log[[:space:]]+off' "$BLADE_CONF" 2>/dev/null; then
  access_log="access_log off;"
else
  access_log="access_log $WORK/static-nginx/access.log;"
fi
cp "$WORK/body" "$WORK/static-root/chassis.json"
sed -e "s|{{prefix}}|$WORK/static-nginx|g" -e "s|{{root}}|$WORK/static-root|g" \
    -e "s|{{listen}}|$STATIC_ADDRESS:$STATIC_PORT|g" -e "s|{{worker_processes}}|$workers|g" \
    -e "s|{{mime_types}}|/etc/nginx/mime.types|g" -e "s|{{access_log}}|$access_log|g" \
    "$ROOT/scripts/bench/static-nginx.conf.template" > "$WORK/static-nginx/nginx.conf"
if grep -q '{{' "$WORK/static-nginx/nginx.conf"; then die "unreplaced placeholder in the static nginx config"; fi
"$NGINX" -p "$WORK/static-nginx/" -c "$WORK/static-nginx/nginx.conf" -e "$WORK/static-nginx/error.log" \
  >"$WORK/static-nginx/stdout.log" 2>&1 &
STATIC_NGINX_PID=$!
deadline=$((SECONDS + 10))
until read -r s_status s_size _ < <(python3 "$HELPER" fetch "$STATIC_ADDRESS" "$STATIC_PORT" /chassis.json "$WORK/static-check" 2>/dev/null) \
      && [ "$s_status" = 200 ]; do
  kill -0 "$STATIC_NGINX_PID" 2>/dev/null || { cat "$WORK/static-nginx/error.log" "$WORK/static-nginx/stdout.log" >&2; die "the reference nginx did not start"; }
  [ $SECONDS -lt $deadline ] || die "the reference nginx on $STATIC_ADDRESS:$STATIC_PORT does not answer"
  sleep 0.2
done
[ "$s_size" = "$size" ] || die "static file is $s_size bytes, API body $size bytes"
log "reference nginx $STATIC_NGINX_PID on $STATIC_ADDRESS:$STATIC_PORT serves the same $size bytes (worker_processes $workers, like the blade)"

# --- b. idle CPU and memory over CPU_WINDOW seconds ---------------------------------------------
REFERENCE_NAME="sleep (idle process baseline)"
if command -v prometheus-node-exporter >/dev/null; then
  prometheus-node-exporter --web.listen-address="127.0.0.1:$EXPORTER_PORT" >"$WORK/node-exporter.log" 2>&1 &
  REFERENCE_PID=$!
  sleep 1
  if kill -0 "$REFERENCE_PID" 2>/dev/null; then
    REFERENCE_NAME="prometheus-node-exporter (scraped once a second)"
    python3 "$HELPER" poll 127.0.0.1 "$EXPORTER_PORT" /metrics "$((CPU_WINDOW + 5))" &
    POLLER_PID=$!
  else
    log "prometheus-node-exporter did not start; using an idle sleep instead"
    REFERENCE_PID=""
  fi
fi
if [ -z "$REFERENCE_PID" ]; then
  sleep $((CPU_WINDOW + 30)) &
  REFERENCE_PID=$!
fi
WEB_RSS_IDLE_KB="$(rss_kb "$WEB_PID")"
sleep 3 # let start-up settle
# One browser tab on the overview, polling as Public/app.js does (every 2 s, If-None-Match): how
# often does an idle chassis let it off with a 304? (Its cost to the web app is in web_idle_cpu.)
python3 "$HELPER" browser "$BLADE_ADDRESS" "$PORT" "$API_PATH" "$CPU_WINDOW" 2 > "$WORK/browser-poll" &
BROWSER_POLL_PID=$!
log "sampling CPU and memory for $CPU_WINDOW s (engine, web, nginx, $REFERENCE_NAME)"
t0="$(now)"
e0="$(cpu_ticks "$ENGINE_PID")"; w0="$(cpu_ticks "$WEB_PID")"; n0="$(cpu_ticks "${NGINX_PIDS[@]}")"; r0="$(cpu_ticks "$REFERENCE_PID")"
sleep "$CPU_WINDOW"
e1="$(cpu_ticks "$ENGINE_PID")"; w1="$(cpu_ticks "$WEB_PID")"; n1="$(cpu_ticks "${NGINX_PIDS[@]}")"; r1="$(cpu_ticks "$REFERENCE_PID")"
t1="$(now)"
window="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
kill -0 "$ENGINE_PID" 2>/dev/null || die "the engine ($ENGINE_PID) died during the CPU window; see $DIR/blade1/engine.log"
ENGINE_CPU="$(percent $((e1 - e0)) "$window")"
WEB_IDLE_CPU="$(percent $((w1 - w0)) "$window")"
NGINX_IDLE_CPU="$(percent $((n1 - n0)) "$window")"
REFERENCE_CPU="$(percent $((r1 - r0)) "$window")"
ENGINE_RSS_KB="$(rss_kb "$ENGINE_PID")"; ENGINE_HWM_KB="$(hwm_kb "$ENGINE_PID")"; ENGINE_PSS_KB="$(pss_kb "$ENGINE_PID")"
REFERENCE_RSS_KB="$(rss_kb "$REFERENCE_PID")"
NGINX_IDLE_RSS_KB="$(rss_kb "${NGINX_PIDS[@]}")"
stop_pid "$POLLER_PID"; POLLER_PID=""
wait "$BROWSER_POLL_PID" 2>/dev/null || true
read -r browser_requests browser_304 < "$WORK/browser-poll" || { browser_requests=0; browser_304=0; }
browser_304_share="$(awk -v n="$browser_requests" -v m="$browser_304" 'BEGIN { printf "%.3f", (n > 0 ? m / n : 0) }')"
stop_pid "$REFERENCE_PID"; REFERENCE_PID=""

# --- a. throughput and latency, interleaved -----------------------------------------------------
wrk_run() { # NAME URL [EXTRA...] -> appends "RPS P99 ERRORS" to $WORK/NAME.results
  local name="$1" url="$2"; shift 2
  local out="$WORK/$name.$(date +%s%N).wrk"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed for $name"; }
  local parsed; parsed="$(parse_wrk "$out")"
  echo "$parsed" >> "$WORK/$name.results"
  if [ "$name" = conditional ]; then grep -h '^status_counts:' "$out" >> "$WORK/conditional.counts" || true; fi
  log "  $name: $(echo "$parsed" | awk '{printf "%s req/s, p99 %s ms, errors %s", $1, $2, $3}')"
}
# The body now holds every collector's metrics (disk and network report every 5 s, so the first
# body was smaller): the static file gets today's bytes.
read -r status size _ < <(python3 "$HELPER" fetch "$BLADE_ADDRESS" "$PORT" "$API_PATH" "$WORK/body" 2>/dev/null || echo "000 0 -")
[ "$status" = 200 ] || die "GET $API_PATH answers $status before the load"
cp "$WORK/body" "$WORK/static-root/chassis.json.new" && mv "$WORK/static-root/chassis.json.new" "$WORK/static-root/chassis.json"
read -r s_status s_size _ < <(python3 "$HELPER" fetch "$STATIC_ADDRESS" "$STATIC_PORT" /chassis.json "$WORK/static-check")
[ "$s_status" = 200 ] && [ "$s_size" = "$size" ] || die "the reference serves $s_status, $s_size bytes; the API body is $size bytes"
log "static file refreshed to the API's current body: $size bytes"
API_URL="http://$BLADE_ADDRESS:$PORT$API_PATH"
STATIC_URL="http://$STATIC_ADDRESS:$STATIC_PORT/chassis.json"
log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $RUNS interleaved rounds (static, api, conditional)"
wrk -t1 -c2 -d2s "$API_URL" >/dev/null 2>&1 || true    # warm-up, not counted
wrk -t1 -c2 -d2s "$STATIC_URL" >/dev/null 2>&1 || true
for round in $(seq 1 "$RUNS"); do
  log "round $round/$RUNS"
  wrk_run static "$STATIC_URL"
  wrk_run api "$API_URL"
  wrk_run conditional "$API_URL" -s "$ROOT/scripts/bench/conditional.lua"
done
for name in static api conditional; do
  eval "${name}_rps=\$(awk '{print \$1}' \"\$WORK/$name.results\" | median)"
  eval "${name}_p99=\$(awk '{print \$2}' \"\$WORK/$name.results\" | median)"
  eval "${name}_errors=\$(awk '{s += \$3} END {print s + 0}' \"\$WORK/$name.results\")"
done
ratio="$(awk -v a="$api_rps" -v s="$static_rps" 'BEGIN { printf "%.3f", (s > 0 ? a / s : 0) }')"
conditional_ratio="$(awk -v a="$conditional_rps" -v s="$static_rps" 'BEGIN { printf "%.3f", (s > 0 ? a / s : 0) }')"
share_304="$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); n[kv[1]] += kv[2] } }
  END { t = n["200"] + n["304"] + n["other"]; printf "%.3f", (t > 0 ? n["304"] / t : 0) }' "$WORK/conditional.counts" 2>/dev/null || echo nan)"
read -r status_after size_after _ < <(python3 "$HELPER" fetch "$BLADE_ADDRESS" "$PORT" "$API_PATH" "$WORK/body-after" 2>/dev/null || echo "000 0 -")

# --- c. memory after the load -------------------------------------------------------------------
kill -0 "$WEB_PID" 2>/dev/null || die "chassis-web ($WEB_PID) died during the load; see $DIR/blade1/web.log"
WEB_RSS_KB="$(rss_kb "$WEB_PID")"; WEB_HWM_KB="$(hwm_kb "$WEB_PID")"
WEB_THREADS="$(awk '/^Threads:/ {print $2}' "/proc/$WEB_PID/status")"
NGINX_RSS_KB="$(rss_kb "${NGINX_PIDS[@]}")"; NGINX_PSS_KB="$(pss_kb "${NGINX_PIDS[@]}")"
STATIC_NGINX_PIDS=($(python3 "$HELPER" tree "$STATIC_NGINX_PID"))
STATIC_NGINX_RSS_KB="$(rss_kb "${STATIC_NGINX_PIDS[@]}")"
ENGINE_RSS_AFTER_KB="$(rss_kb "$ENGINE_PID")"

# --- summary ------------------------------------------------------------------------------------
goal() { awk -v v="$1" -v op="$2" -v limit="$3" 'BEGIN { ok = (op == ">=" ? v >= limit : v < limit); print (ok ? "met" : "MISSED") }'; }
goal_ratio="$(goal "$ratio" ">=" 0.5)"
goal_cpu="$(goal "$ENGINE_CPU" "<" 0.5)"
goal_rss="$(goal "$(mb "$ENGINE_RSS_KB")" "<" 20)"
cat <<EOF

==== bench-web summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores) ====
machine: load average $LOAD_BEFORE before the bench, $(cut -d' ' -f1-3 /proc/loadavg) at the end (other work on the machine skews every figure)
setup: $BLADES-blade demo (release binaries from $BIN), $API_PATH body $size bytes; reference nginx
       serving the same bytes as a static file (worker_processes $workers, like the blade's nginx)
load:  wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $RUNS interleaved rounds, medians
  static file          $(printf '%10s req/s  p99 %8s ms  errors %s' "$static_rps" "$static_p99" "$static_errors")
  api (FastCGI)        $(printf '%10s req/s  p99 %8s ms  errors %s' "$api_rps" "$api_p99" "$api_errors")
  api If-None-Match    $(printf '%10s req/s  p99 %8s ms  errors %s' "$conditional_rps" "$conditional_p99" "$conditional_errors")  (304 share $share_304)
  api/static ratio     $ratio   (goal >= 0.5: $goal_ratio)
idle, ${window} s at default intervals (CLK_TCK $CLK_TCK):
  chassis-engine       cpu $ENGINE_CPU % of one core (goal < 0.5: $goal_cpu), rss $(mb "$ENGINE_RSS_KB") MB (goal < 20: $goal_rss), peak $(mb "$ENGINE_HWM_KB") MB, pss $(mb "$ENGINE_PSS_KB") MB
  chassis-web (idle)   cpu $WEB_IDLE_CPU % (one tab polling every 2 s), rss $(mb "$WEB_RSS_IDLE_KB") MB before load
  tab polling 2 s      $browser_304 of $browser_requests polls answered 304 (share $browser_304_share; the rest were full bodies)
  nginx (blade)        cpu $NGINX_IDLE_CPU %, rss $(mb "$NGINX_IDLE_RSS_KB") MB (${#NGINX_PIDS[@]} processes)
  reference            cpu $REFERENCE_CPU %, rss $(mb "$REFERENCE_RSS_KB") MB: $REFERENCE_NAME
after the load:
  chassis-web          rss $(mb "$WEB_RSS_KB") MB, peak $(mb "$WEB_HWM_KB") MB, $WEB_THREADS threads
  nginx (blade)        rss $(mb "$NGINX_RSS_KB") MB summed over ${#NGINX_PIDS[@]} processes (pss $(mb "$NGINX_PSS_KB") MB)
  nginx (reference)    rss $(mb "$STATIC_NGINX_RSS_KB") MB
  chassis-engine       rss $(mb "$ENGINE_RSS_AFTER_KB") MB
  $API_PATH after load: HTTP $status_after, $size_after bytes
bench: blades=$BLADES body_bytes=$size api_rps_median=$api_rps static_rps_median=$static_rps ratio=$ratio api_p99_ms=$api_p99 static_p99_ms=$static_p99 conditional_rps_median=$conditional_rps conditional_p99_ms=$conditional_p99 conditional_304_share=$share_304 poll2s_304_share=$browser_304_share api_errors=$api_errors static_errors=$static_errors engine_cpu_percent=$ENGINE_CPU engine_rss_mb=$(mb "$ENGINE_RSS_KB") reference=$(echo "$REFERENCE_NAME" | awk '{print $1}') reference_cpu_percent=$REFERENCE_CPU reference_rss_mb=$(mb "$REFERENCE_RSS_KB") nginx_idle_cpu_percent=$NGINX_IDLE_CPU web_idle_cpu_percent=$WEB_IDLE_CPU web_rss_mb=$(mb "$WEB_RSS_KB") nginx_rss_mb=$(mb "$NGINX_RSS_KB")
EOF

failed=0
[ "$api_errors" = 0 ] || { log "FAILED: $api_errors API requests failed (socket errors or non-2xx/3xx)"; failed=1; }
[ "$status_after" = 200 ] || { log "FAILED: $API_PATH answers $status_after after the load"; failed=1; }
if [ "${BENCH_STRICT:-0}" = 1 ]; then
  for verdict in "$goal_ratio" "$goal_cpu" "$goal_rss"; do [ "$verdict" = met ] || failed=1; done
fi
exit $failed
