#!/usr/bin/env bash
# ThreadSanitizer run (issue 11): `make tsan`. Not part of `make test` (the build alone takes
# several minutes, and everything runs 5 to 15 times slower under TSan).
#
#   1. builds everything with -sanitize=thread into its own build path, .build/tsan (the normal
#      .build is left alone), one job unless TSAN_JOBS says otherwise;
#   2. runs the unit test suites that share state between threads (TSAN_SUITES);
#   3. starts one blade from those binaries on 127.0.0.1 (engine in a private mount namespace over
#      the simulated hardware, web app, and the system's nginx with the blade's own configuration),
#      logs in an admin and a customer, and drives the web app for TSAN_DURATION with wrk
#      (scripts/tsan/load.lua: every page and API route, as an admin, a customer and anonymously,
#      304s, renames of the chassis that refresh every cache, transfer tickets) while
#      scripts/tsan/helper.py sends FastCGI request heads in pieces straight to the app's socket
#      (its slow lane) and breaks some off; then stops the web app and the engine with SIGTERM;
#   4. fails when any process reported a data race (or any other TSan report), printing each
#      report's summary line; the reports stay in TSAN_OUT.
#
# Settings (environment): TSAN_OUT (.build/tsan/reports), TSAN_DIR (/tmp/chassis-tsan),
# TSAN_PORT (19880, plain HTTP), TSAN_TLS_PORT (19881, HTTPS), TSAN_PEER_PORT (7998),
# TSAN_DURATION (60s), TSAN_CONNECTIONS (12), TSAN_JOBS (1), TSAN_SUITES (WebTests AccessTests
# StoreTests MetricsTests TransportTests), TSAN_SKIP_BUILD=1, TSAN_SKIP_UNIT=1, TSAN_SKIP_LOAD=1.
# Only 127.0.0.1 is bound. Every process this script starts is stopped on exit, by PID.
# scripts/tsan/suppressions.txt lists the reports known to be false positives, each with its reason.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWIFT="${SWIFT:-swift}"
BUILD_PATH="$ROOT/.build/tsan"
BIN="$BUILD_PATH/debug"
OUT="${TSAN_OUT:-$BUILD_PATH/reports}"
DIR="${TSAN_DIR:-/tmp/chassis-tsan}"
ADDRESS=127.0.0.1
PORT="${TSAN_PORT:-19880}"
TLS_PORT="${TSAN_TLS_PORT:-19881}"
PEER_PORT="${TSAN_PEER_PORT:-7998}"
DURATION="${TSAN_DURATION:-60s}"
CONNECTIONS="${TSAN_CONNECTIONS:-12}"
JOBS="${TSAN_JOBS:-1}"
SUITES="${TSAN_SUITES:-WebTests AccessTests StoreTests MetricsTests TransportTests}"
SUPPRESSIONS="$ROOT/scripts/tsan/suppressions.txt"
HELPER="$ROOT/scripts/tsan/helper.py"
TSAN_BASE="halt_on_error=0 second_deadlock_stack=1 suppressions=$SUPPRESSIONS"
# The engine links the Swift runtime dynamically in this build (Package.swift says why).
export CHASSIS_DYNAMIC_STDLIB=1

log() { printf 'tsan: %s\n' "$*" >&2; }
die() { printf 'tsan: FAILED: %s\n' "$*" >&2; exit 1; }

mkdir -p "$OUT"
rm -f "$OUT"/*.[0-9]* "$OUT"/*.log
failed=0
# What the build and the load need, installed when missing (as make demo and make bench-web do).
"$ROOT/scripts/install-deps.sh" libfcgi-dev libsqlite3-dev libsensors-dev lm-sensors nginx wrk curl util-linux

# --- 1. build ------------------------------------------------------------------------------------
if [ "${TSAN_SKIP_BUILD:-0}" != 1 ]; then
  log "building with -sanitize=thread into $BUILD_PATH ($JOBS job(s))"
  started=$SECONDS
  nice -n 10 "$SWIFT" build --build-tests --sanitize=thread --build-path "$BUILD_PATH" -j "$JOBS"
  log "built in $((SECONDS - started)) s"
fi
for binary in chassis-engine chassis-web chassisctl; do
  [ -x "$BIN/$binary" ] || die "$BIN/$binary is not built"
done

# --- 2. unit tests -------------------------------------------------------------------------------
if [ "${TSAN_SKIP_UNIT:-0}" != 1 ]; then
  for suite in $SUITES; do
    log "swift test --filter $suite under TSan"
    if ! TSAN_OPTIONS="$TSAN_BASE log_path=$OUT/unit-$suite" nice -n 10 "$SWIFT" test --skip-build \
        --build-path "$BUILD_PATH" --sanitize=thread --filter "^$suite\\." >"$OUT/unit-$suite.log" 2>&1; then
      tail -n 30 "$OUT/unit-$suite.log" >&2
      log "$suite failed (log: $OUT/unit-$suite.log)"
      failed=1
    fi
    grep -E '^(✔ Test run with|✘ Test run with|.*Executed [0-9]+ tests?,)' "$OUT/unit-$suite.log" | tail -n 2 | sed 's/^/tsan:   /' >&2 || true
  done
fi

# --- 3. the web app (and the engine) under load ----------------------------------------------------
ENGINE_PID=""
WEB_PID=""
NGINX_PID=""
SLOW_PID=""
RUNTIME="/dev/shm/chassis-tsan-$(id -u)"
stop_pid() { # PID: SIGTERM, up to 20 s (TSan makes stopping slow), then SIGKILL. Only our PIDs.
  local pid="$1" waited=0
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt 200 ]; do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    log "warning: PID $pid did not stop within 20 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_pid "$SLOW_PID"
  stop_pid "$NGINX_PID"
  stop_pid "$WEB_PID"
  stop_pid "$ENGINE_PID"
  # The blade's runtime directory is on the tmpfs; its state and logs stay in TSAN_DIR.
  [ "${TSAN_SKIP_LOAD:-0}" = 1 ] || rm -rf "$RUNTIME"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_for() { # SECONDS WHAT COMMAND...: until COMMAND succeeds
  local seconds="$1" what="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ -z "$ENGINE_PID" ] || kill -0 "$ENGINE_PID" 2>/dev/null || { tail -n 20 "$DIR/engine.log" >&2; die "the engine died"; }
    [ -z "$WEB_PID" ] || kill -0 "$WEB_PID" 2>/dev/null || { tail -n 20 "$DIR/web.log" >&2; die "the web app died"; }
    [ $SECONDS -lt $deadline ] || die "timed out after $seconds s waiting for $what"
    sleep 0.2
  done
}
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }
is_active() { [ "$(http_status "http://$ADDRESS:$PORT/health/active")" = 200 ]; }

if [ "${TSAN_SKIP_LOAD:-0}" != 1 ]; then
  command -v wrk >/dev/null || die "wrk is not installed (make deps)"
  command -v nginx >/dev/null || die "nginx is not installed (make deps)"
  rm -rf "$DIR" "$RUNTIME"
  STATE="$DIR/state"
  SIM="$RUNTIME/sim"
  CONFIG="$DIR/blade.toml"
  mkdir -p "$STATE" "$SIM/class" "$DIR/nginx" "$DIR/chassis" "$RUNTIME"
  # nginx started by root runs its workers as nobody: they reach the FastCGI socket (0660, the
  # runtime directory's group) through the group, as in the demo.
  if [ "$(id -u)" = 0 ]; then chgrp "$(id -gn nobody)" "$RUNTIME"; fi
  ( umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/cluster.key"; echo >> "$DIR/cluster.key" )
  cat > "$CONFIG" <<EOF
# Written by scripts/tsan.sh: one blade on $ADDRESS.
[blade]
name = "blade1"
address = "$ADDRESS"
slot = 1

[chassis]
id = "660007770088"
name = "TSan chassis"
slots = 4
devices_simulated_dir = "$DIR/chassis"

[paths]
state_dir = "$STATE"
runtime_dir = "$RUNTIME"

[web]
port = $PORT
templates_dir = "$ROOT/Templates"
public_dir = "$ROOT/Public"

[access]
https_port = $TLS_PORT
reload_command = "kill -HUP \$(cat $DIR/nginx/nginx.pid)"

[hardware]
simulated_dir = "$SIM"

[cluster]
key_file = "$DIR/cluster.key"

[hooks]
on_active = "echo \"\$(date +%T.%N) \$CHASSIS_BLADE active in term \$CHASSIS_TERM\" >> $DIR/hooks.log"
on_standby = "echo \"\$(date +%T.%N) \$CHASSIS_BLADE standby in term \$CHASSIS_TERM\" >> $DIR/hooks.log"
on_no_quorum = "echo \"\$(date +%T.%N) \$CHASSIS_BLADE no quorum\" >> $DIR/hooks.log"

[[member]]
name = "blade1"
address = "$ADDRESS"
slot = 1
port = $PEER_PORT
EOF
  sed -e "s|{{prefix}}|$DIR/nginx|g" -e "s|{{listen}}|$ADDRESS:$PORT|g" -e "s|{{tls_listen}}|$ADDRESS:$TLS_PORT|g" \
      -e "s|{{tls_port}}|$TLS_PORT|g" -e "s|{{server_names}}|$ADDRESS|g" \
      -e "s|{{certificate}}|$STATE/tls/blade.crt|g" -e "s|{{certificate_key}}|$STATE/tls/blade.key|g" \
      -e "s|{{ca_certificate}}|$STATE/tls/ca.crt|g" -e "s|{{public_root}}|$ROOT/Public|g" \
      -e "s|{{fastcgi_socket}}|$RUNTIME/web.sock|g" -e "s|{{mime_types}}|/etc/nginx/mime.types|g" \
      "$ROOT/nginx/blade.conf.template" > "$DIR/nginx/nginx.conf"
  grep -v '^[[:space:]]*#' "$DIR/nginx/nginx.conf" | grep -q '{{' && die "unreplaced placeholder in $DIR/nginx/nginx.conf"

  log "starting the TSan engine (peer port $ADDRESS:$PEER_PORT), web app and nginx (http $ADDRESS:$PORT, https :$TLS_PORT) in $DIR"
  namespace_flags=-m
  [ "$(id -u)" = 0 ] || namespace_flags=-Urm
  # The engine reads the simulated hwmon tree as /sys/class through the real libsensors (as in the demo).
  TSAN_OPTIONS="$TSAN_BASE log_path=$OUT/engine" \
    unshare "$namespace_flags" --propagation private -- /bin/sh -c 'mount --bind "$0" /sys/class && exec "$@"' \
    "$SIM/class" "$BIN/chassis-engine" --config "$CONFIG" >"$DIR/engine.log" 2>&1 &
  ENGINE_PID=$!
  wait_for 60 "the engine's control socket" test -S "$RUNTIME/engine.sock"
  # The engine runs `chassisctl certificate` (from its own directory: the TSan build) for the
  # chassis authority and the blade's certificate.
  wait_for 120 "the chassis authority" test -s "$STATE/tls/ca.crt"
  wait_for 120 "the blade's certificate" test -s "$STATE/tls/blade.crt"
  TSAN_OPTIONS="$TSAN_BASE log_path=$OUT/web" "$BIN/chassis-web" --config "$CONFIG" >"$DIR/web.log" 2>&1 &
  WEB_PID=$!
  wait_for 60 "the web app's socket" test -S "$RUNTIME/web.sock"
  nginx -p "$DIR/nginx/" -c "$DIR/nginx/nginx.conf" -e "$DIR/nginx/error.log" -g 'daemon off;' >"$DIR/nginx.log" 2>&1 &
  NGINX_PID=$!
  wait_for 60 "http://$ADDRESS:$PORT/health/active to answer 200" is_active

  log "adding an admin, an operator and a customer (slots 1 and 2); logging the admin and the customer in"
  for user in admin operator customer; do
    ( umask 077; head -c 15 /dev/urandom | base64 | tr '+/' 'xy' > "$DIR/$user-password" )
    scope=()
    [ "$user" = customer ] && scope=(--slots 1,2)
    TSAN_OPTIONS="$TSAN_BASE log_path=$OUT/chassisctl" "$BIN/chassisctl" user add "$user" --role "$user" "${scope[@]}" \
      --password-stdin --config "$CONFIG" < "$DIR/$user-password" >/dev/null
  done
  logged_in() { python3 "$HELPER" login "$ADDRESS" "$TLS_PORT" "$STATE/tls/ca.crt" "$1" "$DIR/$1-password" "$DIR/$1.cookie" \
    >/dev/null 2>>"$DIR/login.err"; }
  # nginx may still be taking the certificate the authority issued (the engine reloads it).
  for user in admin customer; do wait_for 30 "a login as $user on https://$ADDRESS:$TLS_PORT" logged_in "$user"; done

  # Notifications of every event (the alerts the load raises and clears): a hook, and syslog over
  # UDP to a port nobody listens on (a datagram needs no listener), each on its own queue.
  notifications="{\"hooks\": [{\"command\": \"printf '%s %s\\\\n' \\\"\$CHASSIS_EVENT_ID\\\" \\\"\$CHASSIS_EVENT\\\" >> $DIR/notify.log\", \"timeoutSeconds\": 5}],"
  notifications+=" \"syslog\": [{\"host\": \"$ADDRESS\", \"port\": $((PORT + 2)), \"facility\": 16}]}"
  python3 "$HELPER" request "$ADDRESS" "$TLS_PORT" "$STATE/tls/ca.crt" "$DIR/admin.cookie" PUT /api/v1/notifications \
    "$notifications" >/dev/null || die "cannot set the notification targets"

  seconds="$(awk -v d="$DURATION" 'BEGIN { n = d + 0; if (d ~ /m$/) n *= 60; print n }')"
  log "wrk -t4 -c$CONNECTIONS -d$DURATION (admin, customer, anonymous and log-in/out threads) on https://$ADDRESS:$TLS_PORT, and the slow lane straight on the socket"
  python3 "$HELPER" slowlane "$RUNTIME/web.sock" "$seconds" "$ADDRESS:$TLS_PORT" > "$DIR/slowlane.out" 2> "$DIR/slowlane.err" &
  SLOW_PID=$!
  TSAN_ADMIN_COOKIE_FILE="$DIR/admin.cookie" TSAN_CUSTOMER_COOKIE_FILE="$DIR/customer.cookie" \
    TSAN_OPERATOR_PASSWORD_FILE="$DIR/operator-password" \
    wrk -t4 -c"$CONNECTIONS" -d"$DURATION" --latency --timeout 10s -s "$ROOT/scripts/tsan/load.lua" \
    "https://$ADDRESS:$TLS_PORT/" > "$OUT/wrk.log" 2>&1 || { cat "$OUT/wrk.log" >&2; die "wrk failed"; }
  wait "$SLOW_PID" || log "warning: the slow-lane client failed: $(cat "$DIR/slowlane.err")"
  SLOW_PID=""
  grep -E 'Requests/sec|requests in|Socket errors|Non-2xx|^statuses:' "$OUT/wrk.log" | sed 's/^ */tsan:   /' >&2
  read -r slow_requests slow_answered slow_broken slow_failed < "$DIR/slowlane.out" || true
  log "  slow lane: ${slow_requests:-?} requests sent in pieces, ${slow_answered:-?} answered, ${slow_broken:-?} connections broken off or not FastCGI on purpose, ${slow_failed:-?} without an answer"
  kill -0 "$WEB_PID" 2>/dev/null || { tail -n 20 "$DIR/web.log" >&2; die "the web app died under load (see $DIR/web.log)"; }
  is_active || { log "the blade does not answer 200 on /health/active after the load"; failed=1; }
  # A graceful stop of each, so that what they do on the way out is watched too.
  stop_pid "$NGINX_PID"; NGINX_PID=""
  stop_pid "$WEB_PID"; WEB_PID=""
  stop_pid "$ENGINE_PID"; ENGINE_PID=""
fi

# --- 4. the verdict ------------------------------------------------------------------------------
reports=0
for file in "$OUT"/*.[0-9]*; do
  [ -f "$file" ] || continue
  # Races, lock-order inversions and the like ("WARNING: ThreadSanitizer: …"), and the runtime's
  # own failures (a CHECK, a fatal error), which end the process.
  count="$(grep -cE 'WARNING: ThreadSanitizer|ThreadSanitizer: CHECK failed|FATAL: ThreadSanitizer' "$file" || true)"
  [ "$count" -gt 0 ] || continue
  reports=$((reports + count))
  log "$count report(s) in $file:"
  grep -E '^SUMMARY: ThreadSanitizer|CHECK failed|FATAL: ThreadSanitizer' "$file" | sort | uniq -c | sed 's/^/tsan:   /' >&2
done
if [ "$reports" -gt 0 ]; then
  log "FAILED: $reports ThreadSanitizer report(s) (above; full stacks in $OUT)"
  exit 1
fi
[ "$failed" = 0 ] || die "a step failed (above)"
log "no ThreadSanitizer reports (reports directory: $OUT)"
