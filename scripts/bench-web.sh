#!/usr/bin/env bash
# Web and engine benchmark, with its references measured side by side in the same run.
#
#   make bench-web            (builds the release binaries first, then runs this script)
#
# On a 1-blade simulated chassis (release binaries, HTTPS on 127.0.1.1:18183, plain HTTP 18180,
# directory /tmp/chassis-bench), everything as the product serves it: over HTTPS, logged in.
#   a. GET /api/v1/chassis over HTTPS through nginx + FastCGI (chassis-web), with the session
#      cookie of a login as admin (the browser's way: every request is authenticated), against
#      the same nginx binary serving a static file of the same bytes over HTTPS (a second nginx on
#      127.0.1.1:18184) with the blade's own TLS settings (certificate and key, protocols, ciphers,
#      session cache and tickets, http2, keep-alive: copied from the blade's rendered nginx.conf),
#      plus the conditional path of a polling browser (If-None-Match with the last ETag: 304 or
#      200). wrk, interleaved runs (static, api, conditional) x RUNS; medians of req/s and p99.
#      wrk keeps its connections alive (TLS handshakes only on connecting and after nginx's
#      keepalive_requests, alike on both servers) and speaks HTTP/1.1 (it offers no ALPN). Every
#      run sends the same Cookie header, the static one included, so the requests are the same
#      bytes; the API and conditional runs each start from a fresh login, so that the cookie is
#      younger than the app's renewal age (60 s) throughout a run (an older one would be re-signed
#      and sent back with every answer, which a browser would have taken after the first).
#   b. CPU share (percent of one core, from utime+stime in /proc/PID/stat) and resident memory
#      of the idle engine over CPU_WINDOW seconds at its default intervals, next to nginx (master
#      and workers), the web app, and a reference: prometheus-node-exporter scraped once a second
#      when it is installed (it is never installed by this script), otherwise an idle `sleep`.
#      Meanwhile one simulated browser tab, logged in, behaves as Public/app.js does over one
#      kept-alive HTTPS connection: the API every 2 s with If-None-Match (how often does an idle
#      chassis answer 304?), /api/v1/session every 10 s and a transfer ticket every 30 s.
#   c. chassis-web's resident memory before and after the load.
#
# Settings (environment): BENCH_BIN (default .build/release), BENCH_PORT (18180, the blade's
# plain HTTP), BENCH_TLS_PORT (18183, the blade's HTTPS), BENCH_STATIC_TLS_PORT (18184, the
# reference's HTTPS), BENCH_EXPORTER_PORT (18182), BENCH_PEER_PORT (7180, the engine's peer
# transport), BENCH_DIR (/tmp/chassis-bench), BENCH_RUNS (3), BENCH_DURATION (10s),
# BENCH_CONNECTIONS (16), BENCH_THREADS (2), BENCH_CPU_WINDOW (60), BENCH_STRICT=1 (exit 1 when a
# goal is missed).
# TLS is verified against the demo's ca.crt wherever this script checks an answer (helper.py);
# wrk does not verify certificates. Only 127.0.0.0/8 is used. Every process this script starts is
# stopped on exit, by PID.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BENCH_BIN:-$ROOT/.build/release}"
PORT="${BENCH_PORT:-18180}"
TLS_PORT="${BENCH_TLS_PORT:-18183}"
STATIC_TLS_PORT="${BENCH_STATIC_TLS_PORT:-18184}"
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
# The reference listens on the blade's address (another port): the blade's certificate names that
# address, so helper.py can verify the reference's TLS as it verifies the blade's.
STATIC_ADDRESS="$BLADE_ADDRESS"
API_PATH="/api/v1/chassis"
HELPER="$ROOT/scripts/bench/helper.py"
CTL="$BIN/chassisctl"
CA_FILE="$DIR/ca.crt"
PASSWORD_FILE="$DIR/admin-password"

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

# wrk output -> "RPS P99_MS ERRORS BYTES_PER_ANSWER" (errors: socket errors plus non-2xx/3xx
# responses; bytes per answer, headers included, from "N requests in T, B read", which wrk rounds
# to three or four digits)
parse_wrk() {
  awk '
    function ms(value) {
      if (value ~ /us$/) { sub(/us$/, "", value); return value / 1000 }
      if (value ~ /ms$/) { sub(/ms$/, "", value); return value + 0 }
      if (value ~ /s$/)  { sub(/s$/, "", value);  return value * 1000 }
      return value + 0
    }
    function bytes(value,   scale) {
      scale = 1
      if (value ~ /KB$/) scale = 1024
      else if (value ~ /MB$/) scale = 1024 ^ 2
      else if (value ~ /GB$/) scale = 1024 ^ 3
      else if (value ~ /TB$/) scale = 1024 ^ 4
      sub(/[KMGT]?B$/, "", value)
      return value * scale
    }
    /Requests\/sec:/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    $2 == "requests" && $3 == "in" { requests = $1; read_bytes = bytes($5) }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    /Socket errors:/ { line = $0; gsub(/[^0-9 ]/, " ", line); n = split(line, f, " "); for (i = 1; i <= n; i++) errors += f[i] }
    END { printf "%s %.3f %d %.0f\n", rps, p99, errors + 0, (requests > 0 ? read_bytes / requests : 0) }
  ' "$1"
}
seconds_of() { # a wrk duration (10, 10s, 2m, 1h) -> seconds
  awk -v d="$1" 'BEGIN { n = d + 0; if (d ~ /m$/) n *= 60; else if (d ~ /h$/) n *= 3600; print n }'
}

# --- logging in (the session cookie, in a 0600 file of the work directory) ----------------------
COOKIE_FILE="$WORK/cookie"
export BENCH_COOKIE_FILE="$COOKIE_FILE" # read by cookie.lua and conditional.lua inside wrk
login() { # logs in as admin on the blade; COOKIE becomes "chassis_session=…"
  local status
  status="$(python3 "$HELPER" login "$BLADE_ADDRESS" "$TLS_PORT" "$CA_FILE" "$PASSWORD_FILE" "$COOKIE_FILE" 2>"$WORK/login.err")" || {
    cat "$WORK/login.err" >&2; return 1; }
  COOKIE="$(cat "$COOKIE_FILE")"
  [ "$status" = 200 ] && [ -n "$COOKIE" ]
}
api_fetch() { # OUT -> "STATUS SIZE ETAG CONTENT_TYPE" of GET $API_PATH with the session cookie
  python3 "$HELPER" fetch "$BLADE_ADDRESS" "$TLS_PORT" "$API_PATH" "$1" "$CA_FILE" "$COOKIE_FILE" 2>"$WORK/fetch.err" \
    || { cat "$WORK/fetch.err" >&2; echo "000 0 - -"; }
}
static_fetch() { # OUT -> "STATUS SIZE ETAG CONTENT_TYPE" of the reference's file, no cookie
  python3 "$HELPER" fetch "$STATIC_ADDRESS" "$STATIC_TLS_PORT" /chassis.json "$1" "$CA_FILE" - 2>"$WORK/fetch.err" \
    || { cat "$WORK/fetch.err" >&2; echo "000 0 - -"; }
}

# --- the demo ------------------------------------------------------------------------------------
if [ -f "$DIR/demo.json" ]; then
  log "a previous bench demo is recorded in $DIR; stopping it first"
  "$CTL" demo down --dir "$DIR" >/dev/null 2>&1 || true
fi
log "starting a $BLADES-blade demo with $BIN (HTTPS $BLADE_ADDRESS:$TLS_PORT, HTTP $PORT, directory $DIR)"
"$CTL" demo up --help 2>/dev/null | grep -q -- '--tls-port' || die "$CTL demo up has no --tls-port: these binaries predate HTTPS"
DEMO_STARTED=1
demo_options=(--blades "$BLADES" --dir "$DIR" --port "$PORT" --tls-port "$TLS_PORT" --peer-port "$PEER_PORT" --root "$ROOT")
if ! "$CTL" demo up "${demo_options[@]}" >"$WORK/demo-up.log" 2>&1; then
  cat "$WORK/demo-up.log" >&2
  for file in "$DIR"/blade1/*.log "$DIR"/blade1/nginx/error.log; do
    [ -f "$file" ] && { echo "--- $file (last lines)" >&2; tail -n 15 "$file" >&2; }
  done
  die "the demo did not come up (chassisctl demo up ${demo_options[*]})"
fi
[ -s "$CA_FILE" ] || die "the demo wrote no $CA_FILE"
[ -s "$PASSWORD_FILE" ] || die "the demo wrote no $PASSWORD_FILE"
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

# The blade must be the active manager, and the login accepted, before /api/v1/chassis answers
# 200 (not 302/401/503). Plain HTTP must only redirect.
deadline=$((SECONDS + 30))
status=000
while :; do
  if [ -s "$COOKIE_FILE" ] || login 2>/dev/null; then
    read -r status size etag ctype < <(api_fetch "$WORK/body")
    [ "$status" = 200 ] && break
    [ "$status" = 401 ] && rm -f "$COOKIE_FILE" # log in again
  fi
  [ $SECONDS -lt $deadline ] || die "no login on https://$BLADE_ADDRESS:$TLS_PORT, or GET $API_PATH answers $status, not 200, after 30 s"
  sleep 0.5
done
[ "$ctype" = application/json ] || die "GET $API_PATH answers $ctype, not application/json"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$WORK/body" || die "the body of $API_PATH is not JSON"
read -r anonymous_status _ < <(python3 "$HELPER" fetch "$BLADE_ADDRESS" "$TLS_PORT" "$API_PATH" "$WORK/anonymous" "$CA_FILE" - 2>/dev/null || echo 000)
[ "$anonymous_status" = 401 ] || die "GET $API_PATH without the cookie answers $anonymous_status, not 401: is authentication on?"
plain_status="$(python3 -c 'import http.client, sys
connection = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=5)
connection.request("GET", sys.argv[3]); print(connection.getresponse().status)' "$BLADE_ADDRESS" "$PORT" "$API_PATH" 2>/dev/null || echo 000)"
[ "$plain_status" = 308 ] || log "note: plain http://$BLADE_ADDRESS:$PORT$API_PATH answers $plain_status, not 308"
log "demo up: engine $ENGINE_PID, web $WEB_PID, nginx ${NGINX_PIDS[*]}; $API_PATH is $size bytes of JSON over HTTPS with a session (401 without)"

# --- the static reference: same nginx binary, same bytes, same TLS, on another port -------------
mkdir -p "$WORK/static-root" "$WORK/static-nginx"
BLADE_CONF="$DIR/blade1/nginx/nginx.conf"
[ -r "$BLADE_CONF" ] || die "cannot read the blade's nginx configuration $BLADE_CONF"
workers="$(awk '$1 == "worker_processes" { gsub(/;/, "", $2); print $2; exit }' "$BLADE_CONF" 2>/dev/null)"
workers="${workers:-1}"
if grep -Eq '^[[:space:]]*access_log[[:space:]]+off' "$BLADE_CONF" 2>/dev/null; then
  access_log="access_log off;"
else
  access_log="access_log $WORK/static-nginx/access.log;"
fi
# The blade's TLS as rendered: every ssl_* directive (certificate, key, protocols, ciphers, session
# cache, tickets …), an "http2 on;" (nginx >= 1.25), keep-alive limits, and the parameters of its
# HTTPS listen directive (ssl http2), all copied verbatim: those of the http block itself (depth
# 1), not an upstream's keepalive_timeout.
awk 'depth == 1 && ($1 ~ /^ssl_/ || $1 == "http2" || $1 == "keepalive_timeout" || $1 == "keepalive_requests") {
       line = $0; sub(/^[[:space:]]+/, "", line); if (!(line in seen)) { seen[line] = 1; print "    " line } }
     { text = $0; sub(/#.*/, "", text); depth += gsub(/\{/, "{", text) - gsub(/\}/, "}", text) }' \
  "$BLADE_CONF" > "$WORK/static-nginx/from-blade.conf"
grep -q '^ *ssl_certificate ' "$WORK/static-nginx/from-blade.conf" && grep -q '^ *ssl_certificate_key ' "$WORK/static-nginx/from-blade.conf" \
  || die "no ssl_certificate and ssl_certificate_key in $BLADE_CONF"
if grep -v ';[[:space:]]*$' "$WORK/static-nginx/from-blade.conf" | grep -q .; then
  die "a TLS directive of $BLADE_CONF spans lines; the bench copies single-line directives only"
fi
for field in $(awk '$1 == "ssl_certificate" || $1 == "ssl_certificate_key" { gsub(/;/, "", $2); print $2 }' "$WORK/static-nginx/from-blade.conf"); do
  [ -r "$field" ] || die "the blade's $field is not readable"
done
listen_params="$(awk -v address="$BLADE_ADDRESS:$TLS_PORT" '$1 == "listen" && $2 == address {
    params = ""; for (i = 3; i <= NF; i++) { p = $i; sub(/;$/, "", p); if (p != "" && p != "default_server") params = params (params == "" ? "" : " ") p }
    print params; exit }' "$BLADE_CONF")"
case " $listen_params " in *" ssl "*) ;; *) die "no 'listen $BLADE_ADDRESS:$TLS_PORT ssl' in $BLADE_CONF";; esac
cp "$WORK/body" "$WORK/static-root/chassis.json"
sed -e "s|{{prefix}}|$WORK/static-nginx|g" -e "s|{{root}}|$WORK/static-root|g" \
    -e "s|{{listen}}|$STATIC_ADDRESS:$STATIC_TLS_PORT|g" -e "s|{{listen_params}}|$listen_params|g" \
    -e "s|{{worker_processes}}|$workers|g" \
    -e "s|{{mime_types}}|/etc/nginx/mime.types|g" -e "s|{{access_log}}|$access_log|g" \
    "$ROOT/scripts/bench/static-nginx.conf.template" \
  | awk -v block="$WORK/static-nginx/from-blade.conf" '
      $1 == "{{from_blade}}" { while ((getline line < block) > 0) print line; next } { print }' \
  > "$WORK/static-nginx/nginx.conf"
if grep -v '^[[:space:]]*#' "$WORK/static-nginx/nginx.conf" | grep -q '{{'; then die "unreplaced placeholder in the static nginx config"; fi
# The same TLS directives on both sides, or no comparison.
tls_lines() { awk '$1 ~ /^ssl_/ || $1 == "http2" { line = $0; sub(/^[[:space:]]+/, "", line); print line }' "$1" | sort -u; }
diff <(tls_lines "$BLADE_CONF") <(tls_lines "$WORK/static-nginx/nginx.conf") >&2 \
  || die "the reference's TLS directives differ from the blade's (above)"
"$NGINX" -p "$WORK/static-nginx/" -c "$WORK/static-nginx/nginx.conf" -e "$WORK/static-nginx/error.log" \
  >"$WORK/static-nginx/stdout.log" 2>&1 &
STATIC_NGINX_PID=$!
deadline=$((SECONDS + 10))
until read -r s_status s_size _ < <(static_fetch "$WORK/static-check" 2>/dev/null) && [ "$s_status" = 200 ]; do
  kill -0 "$STATIC_NGINX_PID" 2>/dev/null || { cat "$WORK/static-nginx/error.log" "$WORK/static-nginx/stdout.log" >&2; die "the reference nginx did not start"; }
  [ $SECONDS -lt $deadline ] || die "the reference nginx on https://$STATIC_ADDRESS:$STATIC_TLS_PORT does not answer"
  sleep 0.2
done
[ "$s_size" = "$size" ] || die "static file is $s_size bytes, API body $size bytes"
log "reference nginx $STATIC_NGINX_PID on https://$STATIC_ADDRESS:$STATIC_TLS_PORT serves the same $size bytes (worker_processes $workers, listen … $listen_params, $(grep -c . "$WORK/static-nginx/from-blade.conf") TLS and keep-alive directives of the blade's)"

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
login || die "cannot log in as admin on https://$BLADE_ADDRESS:$TLS_PORT for the browser tab"
sleep 3 # let start-up (and the login) settle
# One browser tab on the overview, logged in, behaving as Public/app.js does (the API every 2 s
# with If-None-Match, the session every 10 s, a ticket every 30 s): how often does an idle chassis
# let it off with a 304? (Its cost to the web app is in web_idle_cpu, to nginx in nginx_idle_cpu.)
python3 "$HELPER" browser "$BLADE_ADDRESS" "$TLS_PORT" "$API_PATH" "$CPU_WINDOW" 2 "$CA_FILE" "$COOKIE_FILE" > "$WORK/browser-poll" &
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
read -r browser_requests browser_304 browser_other browser_failed browser_renewed < "$WORK/browser-poll" \
  || { browser_requests=0; browser_304=0; browser_other=0; browser_failed=1; browser_renewed=0; }
browser_304_share="$(awk -v n="$browser_requests" -v m="$browser_304" 'BEGIN { printf "%.3f", (n > 0 ? m / n : 0) }')"
stop_pid "$REFERENCE_PID"; REFERENCE_PID=""

# --- a. throughput and latency, interleaved -----------------------------------------------------
wrk_run() { # NAME URL [EXTRA...] -> appends "RPS P99 ERRORS BYTES_PER_ANSWER" to $WORK/NAME.results
  local name="$1" url="$2"; shift 2
  local out="$WORK/$name.$(date +%s%N).wrk"
  # A fresh session for each run against the app (see the top): younger than 60 s throughout.
  if [ "$name" != static ]; then login || die "cannot log in before the $name run"; fi
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed for $name"; }
  local parsed; parsed="$(parse_wrk "$out")"
  echo "$parsed" >> "$WORK/$name.results"
  if [ "$name" = conditional ]; then grep -h '^status_counts:' "$out" >> "$WORK/conditional.counts" || true; fi
  log "  $name: $(echo "$parsed" | awk '{printf "%s req/s, p99 %s ms, errors %s, %s bytes an answer", $1, $2, $3, $4}')"
}
# The body now holds every collector's metrics (disk and network report every 5 s, so the first
# body was smaller): the static file gets today's bytes.
login || die "cannot log in before the load"
read -r status size _ < <(api_fetch "$WORK/body")
[ "$status" = 200 ] || die "GET $API_PATH answers $status before the load"
cp "$WORK/body" "$WORK/static-root/chassis.json.new" && mv "$WORK/static-root/chassis.json.new" "$WORK/static-root/chassis.json"
read -r s_status s_size _ < <(static_fetch "$WORK/static-check")
[ "$s_status" = 200 ] && [ "$s_size" = "$size" ] || die "the reference serves $s_status, $s_size bytes; the API body is $size bytes"
log "static file refreshed to the API's current body: $size bytes"
API_URL="https://$BLADE_ADDRESS:$TLS_PORT$API_PATH"
STATIC_URL="https://$STATIC_ADDRESS:$STATIC_TLS_PORT/chassis.json"
if [ "$(seconds_of "$DURATION")" -ge 55 ] 2>/dev/null; then
  log "note: runs of $DURATION outlive the session's 60 s renewal age: late in each run the app re-signs the cookie on every answer"
fi
log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $RUNS interleaved rounds (static, api, conditional), over HTTPS with the session cookie"
wrk -t1 -c2 -d2s -s "$ROOT/scripts/bench/cookie.lua" "$API_URL" >"$WORK/warm-up.wrk" 2>&1 || true    # warm-up, not counted
read -r _ _ warm_errors _ < <(parse_wrk "$WORK/warm-up.wrk")
[ "${warm_errors:-1}" = 0 ] || { cat "$WORK/warm-up.wrk" >&2; die "the warm-up against $API_URL had errors (is the cookie accepted?)"; }
wrk -t1 -c2 -d2s -s "$ROOT/scripts/bench/cookie.lua" "$STATIC_URL" >/dev/null 2>&1 || true
for round in $(seq 1 "$RUNS"); do
  log "round $round/$RUNS"
  wrk_run static "$STATIC_URL" -s "$ROOT/scripts/bench/cookie.lua"
  wrk_run api "$API_URL" -s "$ROOT/scripts/bench/cookie.lua"
  wrk_run conditional "$API_URL" -s "$ROOT/scripts/bench/conditional.lua"
done
for name in static api conditional; do
  eval "${name}_rps=\$(awk '{print \$1}' \"\$WORK/$name.results\" | median)"
  eval "${name}_p99=\$(awk '{print \$2}' \"\$WORK/$name.results\" | median)"
  eval "${name}_errors=\$(awk '{s += \$3} END {print s + 0}' \"\$WORK/$name.results\")"
  eval "${name}_bytes=\$(awk '{print \$4}' \"\$WORK/$name.results\" | median)"
  eval "${name}_bytes_min=\$(awk 'NR == 1 || \$4 < m {m = \$4} END {print m + 0}' \"\$WORK/$name.results\")"
done
ratio="$(awk -v a="$api_rps" -v s="$static_rps" 'BEGIN { printf "%.3f", (s > 0 ? a / s : 0) }')"
conditional_ratio="$(awk -v a="$conditional_rps" -v s="$static_rps" 'BEGIN { printf "%.3f", (s > 0 ? a / s : 0) }')"
share_304="$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); n[kv[1]] += kv[2] } }
  END { t = n["200"] + n["304"] + n["other"]; printf "%.3f", (t > 0 ? n["304"] / t : 0) }' "$WORK/conditional.counts" 2>/dev/null || echo nan)"
conditional_other="$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "other") s += kv[2] } } END { print s + 0 }' "$WORK/conditional.counts" 2>/dev/null || echo 0)"
read -r status_after size_after _ ctype_after < <(api_fetch "$WORK/body-after")

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
goal_ratio="$(goal "$ratio" ">=" 0.6)"
goal_cpu="$(goal "$ENGINE_CPU" "<" 0.5)"
goal_rss="$(goal "$(mb "$ENGINE_RSS_KB")" "<" 20)"
cat <<EOF

==== bench-web summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores) ====
machine: load average $LOAD_BEFORE before the bench, $(cut -d' ' -f1-3 /proc/loadavg) at the end (other work on the machine skews every figure)
setup: $BLADES-blade demo (binaries from $BIN), $API_PATH body $size bytes of JSON; reference nginx
       serving the same bytes as a static file (worker_processes $workers, like the blade's nginx)
       HTTPS on both (https://$BLADE_ADDRESS:$TLS_PORT, reference :$STATIC_TLS_PORT): the blade's certificate and
       TLS directives (listen … $listen_params; $(awk '$1 == "ssl_protocols" {sub(/;$/, ""); $1 = ""; sub(/^ /, ""); print}' "$WORK/static-nginx/from-blade.conf"); session cache $(awk '$1 == "ssl_session_cache" {sub(/;$/, "", $2); print $2}' "$WORK/static-nginx/from-blade.conf"))
       authentication on: every request carries the session cookie of a login as admin (401 without)
load:  wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, keep-alive, HTTP/1.1, $RUNS interleaved rounds, medians
  static file          $(printf '%10s req/s  p99 %8s ms  errors %s  %6s bytes/answer' "$static_rps" "$static_p99" "$static_errors" "$static_bytes")
  api (FastCGI)        $(printf '%10s req/s  p99 %8s ms  errors %s  %6s bytes/answer' "$api_rps" "$api_p99" "$api_errors" "$api_bytes")
  api If-None-Match    $(printf '%10s req/s  p99 %8s ms  errors %s  %6s bytes/answer' "$conditional_rps" "$conditional_p99" "$conditional_errors" "$conditional_bytes")  (304 share $share_304)
  api/static ratio     $ratio   (goal >= 0.6: $goal_ratio)
idle, ${window} s at default intervals (CLK_TCK $CLK_TCK):
  chassis-engine       cpu $ENGINE_CPU % of one core (goal < 0.5: $goal_cpu), rss $(mb "$ENGINE_RSS_KB") MB (goal < 20: $goal_rss), peak $(mb "$ENGINE_HWM_KB") MB, pss $(mb "$ENGINE_PSS_KB") MB
  chassis-web (idle)   cpu $WEB_IDLE_CPU % (one tab polling every 2 s), rss $(mb "$WEB_RSS_IDLE_KB") MB before load
  tab polling 2 s      $browser_304 of $browser_requests polls answered 304 (share $browser_304_share; the rest were full bodies), $browser_other session and ticket requests, $browser_failed failed, cookie renewed $browser_renewed times
  nginx (blade)        cpu $NGINX_IDLE_CPU %, rss $(mb "$NGINX_IDLE_RSS_KB") MB (${#NGINX_PIDS[@]} processes)
  reference            cpu $REFERENCE_CPU %, rss $(mb "$REFERENCE_RSS_KB") MB: $REFERENCE_NAME
after the load:
  chassis-web          rss $(mb "$WEB_RSS_KB") MB, peak $(mb "$WEB_HWM_KB") MB, $WEB_THREADS threads
  nginx (blade)        rss $(mb "$NGINX_RSS_KB") MB summed over ${#NGINX_PIDS[@]} processes (pss $(mb "$NGINX_PSS_KB") MB)
  nginx (reference)    rss $(mb "$STATIC_NGINX_RSS_KB") MB
  chassis-engine       rss $(mb "$ENGINE_RSS_AFTER_KB") MB
  $API_PATH after load: HTTP $status_after, $size_after bytes ($ctype_after)
bench: https=1 auth=session blades=$BLADES body_bytes=$size api_rps_median=$api_rps static_rps_median=$static_rps ratio=$ratio api_p99_ms=$api_p99 static_p99_ms=$static_p99 conditional_rps_median=$conditional_rps conditional_p99_ms=$conditional_p99 conditional_304_share=$share_304 poll2s_304_share=$browser_304_share api_errors=$api_errors static_errors=$static_errors conditional_errors=$conditional_errors api_bytes_per_answer=$api_bytes static_bytes_per_answer=$static_bytes engine_cpu_percent=$ENGINE_CPU engine_rss_mb=$(mb "$ENGINE_RSS_KB") reference=$(echo "$REFERENCE_NAME" | awk '{print $1}') reference_cpu_percent=$REFERENCE_CPU reference_rss_mb=$(mb "$REFERENCE_RSS_KB") nginx_idle_cpu_percent=$NGINX_IDLE_CPU web_idle_cpu_percent=$WEB_IDLE_CPU web_rss_mb=$(mb "$WEB_RSS_KB") nginx_rss_mb=$(mb "$NGINX_RSS_KB")
EOF

failed=0
[ "$api_errors" = 0 ] || { log "FAILED: $api_errors API requests failed (socket errors or non-2xx/3xx)"; failed=1; }
[ "$static_errors" = 0 ] || { log "FAILED: $static_errors static requests failed (socket errors or non-2xx/3xx)"; failed=1; }
[ "$conditional_errors" = 0 ] && [ "$conditional_other" = 0 ] \
  || { log "FAILED: conditional requests failed ($conditional_errors socket errors or non-2xx/3xx, $conditional_other neither 200 nor 304)"; failed=1; }
# Every API answer carried the JSON body (a 401 or an empty 200 would be a few hundred bytes):
# wrk's bytes read per answer, in every run, at least the body's size less 5 % (it changes by a
# few digits from sample to sample, and wrk rounds its byte count).
awk -v b="$api_bytes_min" -v s="$size" 'BEGIN { exit !(b >= 0.95 * s) }' \
  || { log "FAILED: the API answered $api_bytes_min bytes per request in a run, less than its $size-byte body"; failed=1; }
awk -v b="$static_bytes_min" -v s="$size" 'BEGIN { exit !(b >= 0.95 * s) }' \
  || { log "FAILED: the reference answered $static_bytes_min bytes per request in a run, less than the $size-byte file"; failed=1; }
[ "$browser_failed" = 0 ] || { log "FAILED: $browser_failed of the browser tab's requests failed (no answer, or not 200/304)"; failed=1; }
[ "$status_after" = 200 ] || { log "FAILED: $API_PATH answers $status_after after the load"; failed=1; }
if [ "${BENCH_STRICT:-0}" = 1 ]; then
  for verdict in "$goal_ratio" "$goal_cpu" "$goal_rss"; do [ "$verdict" = met ] || failed=1; done
fi
exit $failed
