#!/usr/bin/env bash
# Make sure PostgreSQL server binaries (initdb, pg_ctl, postgres) are on this machine.
#
# The tests start their own throwaway server (ledger_audit/testing/pgserver.py), so this only
# installs: if the binaries are missing it installs Debian's `postgresql` package with apt-get
# (needs root), without creating or starting the package's default cluster. It starts nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'ensure-postgres: %s\n' "$*"; }
die() {
    printf 'ensure-postgres: error: %s\n' "$*" >&2
    exit 1
}

# Same search as ledger_audit.testing.pgserver.find_postgres_bin_dir: PATH, then the newest
# /usr/lib/postgresql/<version>/bin.
find_bin_dir() {
    local initdb dir
    if initdb=$(command -v initdb) && dir=$(dirname "$(readlink -f "$initdb")") &&
        [[ -x $dir/pg_ctl && -x $dir/postgres ]]; then
        printf '%s\n' "$dir"
        return 0
    fi
    local candidates=()
    shopt -s nullglob
    candidates=(/usr/lib/postgresql/*/bin)
    shopt -u nullglob
    while IFS= read -r dir; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done < <(printf '%s\n' "${candidates[@]}" | sort -t/ -k4,4 -V -r)
    return 1
}

if bin_dir=$(find_bin_dir); then
    say "found $("$bin_dir/postgres" --version) in $bin_dir"
    exit 0
fi

[[ $(id -u) == 0 ]] ||
    die "PostgreSQL server binaries not found and installing them needs root: run" \
        "'sudo scripts/ensure-postgres.sh' (or 'sudo apt-get install postgresql')"
command -v apt-get >/dev/null ||
    die "PostgreSQL server binaries not found and this is not a Debian-like system (no apt-get):" \
        "install PostgreSQL >= 14 so that initdb, pg_ctl and postgres are on PATH"

# Debian's package would create and start a `main` cluster; the tests do not need it.
createcluster_conf=/etc/postgresql-common/createcluster.d/50-ledger-audit-no-main-cluster.conf
if [[ ! -e $createcluster_conf ]]; then
    mkdir -p "$(dirname "$createcluster_conf")"
    printf '%s\n' "# written by ledger-audit scripts/ensure-postgres.sh: tests start their own server" \
        "create_main_cluster = false" >"$createcluster_conf"
fi

say "installing Debian's postgresql package with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
# apt is chatty on stderr even when all is well (debconf notes): show its output on failure only.
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql; } \
    >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    die "apt-get could not install the postgresql package (output above)"
fi

bin_dir=$(find_bin_dir) || die "installed the postgresql package but still found no initdb/pg_ctl/postgres"
say "installed $("$bin_dir/postgres" --version) in $bin_dir"
