#!/usr/bin/env bash
# Make sure a headless-capable Chromium is on this machine, for the browser tests.
#
# The HTML report tests open report.html in headless Chromium (ledger_audit/testing/browser.py)
# to prove its plotly charts render offline. This only installs: if no Chromium is found it
# installs Debian's `chromium` package with apt-get (as root, or through sudo when that needs
# no password). Idempotent: when Chromium is present it prints its version and exits.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'ensure-chromium: %s\n' "$*"; }
die() {
    printf 'ensure-chromium: error: %s\n' "$*" >&2
    exit 1
}

# Same search as ledger_audit.testing.browser.find_chromium: $LEDGER_AUDIT_CHROMIUM, then PATH.
find_chromium() {
    local name path
    if [[ -n ${LEDGER_AUDIT_CHROMIUM:-} ]]; then
        [[ -x $LEDGER_AUDIT_CHROMIUM ]] || return 1
        printf '%s\n' "$LEDGER_AUDIT_CHROMIUM"
        return 0
    fi
    for name in chromium chromium-browser google-chrome-stable google-chrome; do
        if path=$(command -v "$name"); then
            printf '%s\n' "$path"
            return 0
        fi
    done
    return 1
}

if browser=$(find_chromium); then
    say "found $("$browser" --version 2>/dev/null || echo "$browser") at $browser"
    exit 0
fi

command -v apt-get >/dev/null ||
    die "Chromium not found and this is not a Debian-like system (no apt-get): install" \
        "Chromium or Chrome, or set LEDGER_AUDIT_CHROMIUM to its executable"
if [[ $(id -u) == 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    die "Chromium not found and installing it needs root: run 'sudo scripts/ensure-chromium.sh'" \
        "(or 'sudo apt-get install chromium')"
fi

say "installing Debian's chromium package with apt-get"
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
# apt is chatty on stderr even when all is well: show its output on failure only.
if ! { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends chromium; } >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    die "apt-get could not install the chromium package (output above)"
fi

browser=$(find_chromium) || die "installed the chromium package but still found no chromium on PATH"
say "installed $("$browser" --version 2>/dev/null || echo "$browser") at $browser"
