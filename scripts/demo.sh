#!/usr/bin/env bash
# make demo: starts a simulated chassis, prints the address, follows the events, and stops
# everything on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
blades="${1:-4}"
ctl=.build/debug/chassisctl
dir=/tmp/chassis-demo

if [ -f "$dir/demo.json" ]; then "$ctl" demo down --dir "$dir" || true; fi
# SNMP on every blade's address, UDP port 1161 (snmpd and chassis-snmp; the users in $dir/snmp-credentials).
"$ctl" demo up --blades "$blades" --dir "$dir" --snmp-port 1161
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping the demo"
  "$ctl" demo down --dir "$dir" || true
  kill "$tail_pid" 2>/dev/null || true
}
trap stop INT TERM EXIT
cat <<EOT

  Chassis Manager demo: $blades blades on 127.0.1.1 to 127.0.1.$blades, HTTPS on port 8443.
  Open https://127.0.1.1:8443/ and log in as admin (password in $dir/admin-password) or as
  customer-a, who sees slots 2 and 3 only ($dir/customer-a-password). Your browser will trust
  every blade once it trusts the chassis' authority, $dir/ca.crt.

  Try, in another terminal:
    $ctl status --blade 1
    $ctl user list --blade 1
    $ctl audit --blade 1
    $ctl demo set-sensor 2 hwmon.coretemp-isa-0000.temp1 95     # raise a critical alert
    $ctl demo set-sensor 2 hwmon.coretemp-isa-0000.temp1 release
    $ctl demo replace 3                                          # a new module in slot 3
    # SNMP (SNMPv3, passwords in $dir/snmp-credentials; -n customer-a for the customer's slots):
    . <(sed 's/^/S_/' $dir/snmp-credentials); MIBS= snmpwalk -v3 -l authPriv -u \$S_operator_user \\
      -a SHA-256 -A \$S_operator_auth -x AES -X \$S_operator_privacy 127.0.1.1:1161 1.3.6.1.2.1.47.1.1.1.1.11
  Ctrl-C stops everything. Events follow.

EOT
for i in $(seq 1 "$blades"); do touch "$dir/blade$i/engine.log"; done
tail -n 0 -F $(for i in $(seq 1 "$blades"); do echo "$dir/blade$i/engine.log"; done) &
tail_pid=$!
wait "$tail_pid"
