#!/usr/bin/env bash
# Installs a blade's software into DESTDIR (empty: this machine) under PREFIX:
#   PREFIX/bin            chassis-engine, chassis-web, chassisctl, chassis-sim, chassis-snmp
#   PREFIX/share/chassis  Templates, Public, the nginx template, the example configuration
#   PREFIX/share/doc/chassis-manager/README.md
#   SYSCONFDIR/chassis/blade.toml   the example configuration (never over an existing one)
#   UNITDIR               chassis-engine.service, chassis-web.service, chassis-nginx.service,
#                         chassis-nginx-reload.path (nginx reloads for a new certificate) and
#                         chassis-snmp.service (the SNMP subagent, when [snmp] is enabled)
#   PREFIX/share/snmp/mibs/CHASSIS-MANAGER-MIB.txt   the product's MIB module, where net-snmp's tools look
#   PREFIX/lib/sysusers.d, PREFIX/lib/tmpfiles.d   the chassis user and the directories
#   PREFIX/share/man      chassis-engine(8), chassis-web(8), chassisctl(8), chassis-snmp(8), chassis-sim(1), made
#                         from the programs' own argument declarations (generate-manual)
#   PREFIX/share/bash-completion, zsh and fish completions of chassisctl
# Paths inside the units and the example configuration are rewritten to PREFIX and SYSCONFDIR.
#
# usage: scripts/install.sh DESTDIR PREFIX SYSCONFDIR UNITDIR BUILD_DIRECTORY
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -ne 5 ]]; then
    echo "usage: scripts/install.sh DESTDIR PREFIX SYSCONFDIR UNITDIR BUILD_DIRECTORY" >&2
    exit 2
fi
DESTDIR=$1 PREFIX=$2 SYSCONFDIR=$3 UNITDIR=$4 BUILD=$5
for path in "$PREFIX" "$SYSCONFDIR" "$UNITDIR"; do
    [[ $path == /* ]] || { echo "install.sh: $path is not an absolute path" >&2; exit 2; }
done
for binary in chassis-engine chassis-web chassisctl chassis-sim chassis-snmp generate-manual; do
    [[ -x $BUILD/$binary ]] || { echo "install.sh: $BUILD/$binary is not built" >&2; exit 1; }
done

share=$DESTDIR$PREFIX/share/chassis
rewrite() { # the installed paths in a file copied from the tree
    sed -e "s|/usr/share/chassis|$PREFIX/share/chassis|g" -e "s|/usr/bin/|$PREFIX/bin/|g" \
        -e "s|/etc/chassis|$SYSCONFDIR/chassis|g" -e "s|/usr/share/doc/chassis-manager|$PREFIX/share/doc/chassis-manager|g" "$1"
}

install -d -m 0755 "$DESTDIR$PREFIX/bin" "$share" "$DESTDIR$PREFIX/share/doc/chassis-manager" \
    "$DESTDIR$UNITDIR" "$DESTDIR$PREFIX/lib/sysusers.d" "$DESTDIR$PREFIX/lib/tmpfiles.d"
for binary in chassis-engine chassis-web chassisctl chassis-sim chassis-snmp; do
    install -m 0755 "$BUILD/$binary" "$DESTDIR$PREFIX/bin/$binary"
done
install -d -m 0755 "$DESTDIR$PREFIX/share/snmp/mibs"
install -m 0644 packaging/snmp/CHASSIS-MANAGER-MIB.txt "$DESTDIR$PREFIX/share/snmp/mibs/CHASSIS-MANAGER-MIB.txt"
rm -rf "$share/Templates" "$share/Public"
cp -R Templates Public "$share/"
find "$share/Templates" "$share/Public" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
install -d -m 0755 "$share/nginx"
install -m 0644 nginx/blade.conf.template "$share/nginx/blade.conf.template"
rewrite config/blade.example.toml > "$share/blade.example.toml"
chmod 0644 "$share/blade.example.toml"
install -m 0644 README.md "$DESTDIR$PREFIX/share/doc/chassis-manager/README.md"
for unit in packaging/systemd/*; do
    rewrite "$unit" > "$DESTDIR$UNITDIR/$(basename "$unit")"
    chmod 0644 "$DESTDIR$UNITDIR/$(basename "$unit")"
done
install -m 0644 packaging/sysusers.d/chassis-manager.conf "$DESTDIR$PREFIX/lib/sysusers.d/chassis-manager.conf"
rewrite packaging/tmpfiles.d/chassis-manager.conf > "$DESTDIR$PREFIX/lib/tmpfiles.d/chassis-manager.conf"
chmod 0644 "$DESTDIR$PREFIX/lib/tmpfiles.d/chassis-manager.conf"
# The configuration is the operator's: the example goes in only where there is none, readable
# by the chassis group alone (it names the key file; the key itself is made at setup).
install -d -m 0750 "$DESTDIR$SYSCONFDIR/chassis"
if [[ ! -e $DESTDIR$SYSCONFDIR/chassis/blade.toml ]]; then
    rewrite config/blade.example.toml > "$DESTDIR$SYSCONFDIR/chassis/blade.toml"
    chmod 0640 "$DESTDIR$SYSCONFDIR/chassis/blade.toml"
fi
# Manual pages from each program's --experimental-dump-help (swift-argument-parser).
man=$DESTDIR$PREFIX/share/man
install -d -m 0755 "$man/man1" "$man/man8"
for entry in chassis-engine:8 chassis-web:8 chassisctl:8 chassis-snmp:8 chassis-sim:1; do
    binary=${entry%%:*} section=${entry##*:}
    "$BUILD/generate-manual" "$BUILD/$binary" --section "$section" --output-directory "$man/man$section" \
        --date "$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)" --authors "Chassis Manager team"
    page="$man/man$section/$binary.$section"
    # A blank line between paragraphs is a paragraph macro in mdoc (groff warns otherwise).
    awk '{ print ($0 == "" ? ".Pp" : $0) }' "$page" > "$page.tmp" && mv "$page.tmp" "$page"
    if [[ $binary != chassisctl ]]; then
        # A program without subcommands: generate-manual still lists the parser's implicit
        # `help` subcommand and puts "subcommand" in the synopsis; both go.
        awk '$0 == ".Ar subcommand" { next }
             $0 == ".It Em help" { skipping = 1; next }
             skipping && $0 == ".El" { skipping = 0; next }
             !skipping' "$page" > "$page.tmp" && mv "$page.tmp" "$page"
    fi
    chmod 0644 "$page"
done
# Shell completions of chassisctl.
completions=$DESTDIR$PREFIX/share
install -d -m 0755 "$completions/bash-completion/completions" "$completions/zsh/vendor-completions" \
    "$completions/fish/vendor_completions.d"
# (Sourced, not run: no #! line.)
"$BUILD/chassisctl" --generate-completion-script bash | sed '1{/^#!/d}' > "$completions/bash-completion/completions/chassisctl"
"$BUILD/chassisctl" --generate-completion-script zsh > "$completions/zsh/vendor-completions/_chassisctl"
"$BUILD/chassisctl" --generate-completion-script fish > "$completions/fish/vendor_completions.d/chassisctl.fish"
chmod 0644 "$completions/bash-completion/completions/chassisctl" "$completions/zsh/vendor-completions/_chassisctl" \
    "$completions/fish/vendor_completions.d/chassisctl.fish"
echo "installed into ${DESTDIR:-/} (prefix $PREFIX)"
