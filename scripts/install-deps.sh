#!/usr/bin/env bash
# Installs the Debian packages that are missing, and (with --venv DIR REQUIREMENTS) a Python
# virtual environment with the pinned test tools; does nothing when all are there. apt's progress
# is shown: a first install takes a few minutes.
# Usage: install-deps.sh DEBIAN_PACKAGE... [--venv DIR REQUIREMENTS_FILE]
set -euo pipefail
debian=()
venv=""
requirements=""
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) venv="$2"; requirements="$3"; shift 3 ;;
    --) shift ;;  # the old separator before Python modules: nothing follows it any more
    *) debian+=("$1"); shift ;;
  esac
done

missing=()
for package in "${debian[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # The packages are tools for the demo and the tests (nginx, Prometheus, Alertmanager …): their
  # system services are not started on installation (Debian's policy-rc.d, only while this runs
  # and only if the machine has none of its own), so nothing listens on the machine's ports.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# written by chassis-manager scripts/install-deps.sh while it installs; removed after\nexit 101\n' \
      | $sudo tee "$policy" > /dev/null
    $sudo chmod 755 "$policy"
    trap '$sudo rm -f "$policy"' EXIT
  fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ -n "$venv" ]; then
  if [ ! -x "$venv/bin/python" ]; then
    echo "creating the test tools' virtual environment in $venv"
    python3 -m venv "$venv"
  fi
  # Installed when the requirements changed since the last install (or never were).
  stamp="$venv/.requirements"
  if ! cmp -s "$requirements" "$stamp"; then
    echo "installing the test tools of $requirements into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
  fi
fi
