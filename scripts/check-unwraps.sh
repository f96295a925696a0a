#!/usr/bin/env bash
# No new force-unwrap or try! in Sources: bytes from outside the process must never be able to
# crash a process (issue 11). Each `!` that unwraps is listed in scripts/unwraps-allowed.txt with
# the file and the line's text (not its number), and a reason it cannot fail; anything else found
# here fails `make test`. `try!` is never allowed.
#
#   scripts/check-unwraps.sh          check
#   scripts/check-unwraps.sh --list   print what is found, in the allow file's form
set -euo pipefail
cd "$(dirname "$0")/.."
ALLOWED=scripts/unwraps-allowed.txt

found() {
    # An identifier, ) or ] followed by ! that is not !=, outside comments.
    grep -rnE '[]A-Za-z0-9_)]![^=]|[]A-Za-z0-9_)]!$' Sources --include='*.swift' \
        | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' \
        | sed -E 's/^([^:]+):[0-9]+:[[:space:]]*/\1\t/'
}

if [ "${1:-}" = "--list" ]; then found; exit 0; fi

status=0
if grep -rn 'try!' Sources --include='*.swift' | grep -v '^[^:]*:[0-9]*:[[:space:]]*//'; then
    echo "check-unwraps: try! is not allowed (above)"
    status=1
fi
while IFS= read -r line; do
    if ! grep -qxF -- "$line" <(grep -v '^#' "$ALLOWED" | cut -f1,2); then
        echo "check-unwraps: a force-unwrap not in $ALLOWED:"
        echo "  $line"
        status=1
    fi
done < <(found)
if [ "$status" -eq 0 ]; then echo "check-unwraps: $(found | wc -l) force-unwraps, each listed with its reason; no try!"; fi
exit "$status"
