#!/usr/bin/env bash
# Installs the Debian packages and Python modules that are missing; does nothing when all are there.
# Usage: install-deps.sh DEBIAN_PACKAGE... -- PYTHON_MODULE...
set -euo pipefail
debian=()
python=()
target=debian
for argument in "$@"; do
  if [ "$argument" = "--" ]; then target=python; continue; fi
  if [ $target = debian ]; then debian+=("$argument"); else python+=("$argument"); fi
done

missing=()
for package in "${debian[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

missing=()
for module in "${python[@]}"; do
  python3 -c "import $module" 2>/dev/null || missing+=("$module")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Python modules: ${missing[*]}"
  python3 -m pip install -q "${missing[@]}"
fi
