#!/usr/bin/env bash
# Builds the Debian package (debhelper) into .build/deb-out and checks it with lintian:
#   .build/deb-out/chassis-manager_VERSION_ARCH.deb, lintian.txt
# dpkg-buildpackage writes beside the source tree; the results are moved here at once.
# VERSION=X overrides debian/changelog's version (the upgrade test builds two); LINTIAN=0
# skips lintian.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.build/deb-out
mkdir -p "$OUT"
parent=$(cd .. && pwd)
restore_changelog() { [[ -f $OUT/changelog.saved ]] && mv "$OUT/changelog.saved" debian/changelog; return 0; }
if [[ -n ${VERSION:-} ]]; then
    cp debian/changelog "$OUT/changelog.saved"
    trap restore_changelog EXIT
    sed -i "1s/(\([^)]*\))/($VERSION)/" debian/changelog
fi
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
# -b: binary only; -nc: no clean (the Swift build is incremental in .build/deb); unsigned.
dpkg-buildpackage -b -nc -us -uc
for file in "$parent"/chassis-manager{,-dbgsym}_"${version}"_"${arch}".{deb,buildinfo,changes}; do
    [[ -e $file ]] && mv -f "$file" "$OUT/"
done
rm -rf debian/chassis-manager debian/.debhelper debian/files debian/*.substvars debian/debhelper-build-stamp \
    debian/*.debhelper debian/*.debhelper.log
deb="$OUT/chassis-manager_${version}_${arch}.deb"
# lintian: no error (its warnings and notes are in lintian.txt). LINTIAN=0 skips it.
if [[ ${LINTIAN:-1} == 0 ]]; then echo "$deb"; exit 0; fi
status=0
lintian --fail-on error --no-tag-display-limit "$deb" > "$OUT/lintian.txt" 2>&1 || status=$?
cat "$OUT/lintian.txt"
[[ $status -eq 0 ]] || { echo "build-deb.sh: lintian found errors" >&2; exit 1; }
echo "$deb"
