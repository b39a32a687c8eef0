#!/usr/bin/env bash
# Make sure the command-line tools the tests use beyond Python are on this machine:
# the shell linter (lints scripts/*.sh), systemd-analyze (verifies the shipped systemd units) and
# hledger (--adapter hledger reads a journal through the real program).
#
# Installs the missing ones' Debian packages with apt-get (as root, or through sudo when that
# needs no password). Idempotent: when every tool is present it only says so.
set -euo pipefail

say() { printf 'ensure-tools: %s\n' "$*"; }
die() {
    printf 'ensure-tools: error: %s\n' "$*" >&2
    exit 1
}

declare -A package_of=([shellcheck]=shellcheck [systemd-analyze]=systemd [hledger]=hledger)
missing=()
for tool in "${!package_of[@]}"; do
    command -v "$tool" >/dev/null || missing+=("${package_of[$tool]}")
done
if ((${#missing[@]} == 0)); then
    say "found shellcheck, systemd-analyze and hledger"
    exit 0
fi

command -v apt-get >/dev/null ||
    die "missing ${missing[*]} and this is not a Debian-like system (no apt-get): install them"
if [[ $(id -u) == 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    die "installing ${missing[*]} needs root: run 'sudo apt-get install ${missing[*]}'"
fi

say "installing ${missing[*]} with apt-get"
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
if ! { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    die "apt-get could not install ${missing[*]} (output above)"
fi
for tool in "${!package_of[@]}"; do
    command -v "$tool" >/dev/null || die "installed ${missing[*]} but $tool is still not on PATH"
done
say "installed ${missing[*]}"
