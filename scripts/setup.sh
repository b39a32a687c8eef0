#!/usr/bin/env bash
# Set up .venv from the lock files, from a fresh Debian machine with only Python >= 3.11.
#
# Usage: scripts/setup.sh [--dev] [--lock]
#   (none)  install requirements/main.lock: what the demo and the CLI need; but a .venv once
#           set up with --dev stays dev (same runtime pins), so the demo never strips the tests
#   --dev   install requirements/dev.lock: the same pins plus tests, linters and type checker,
#           and pyspark (the "spark" extra: the tests run --engine spark; Java comes from
#           scripts/ensure-java.sh)
#   --lock  regenerate both lock files from pyproject.toml first (needs PyPI); existing pins
#           are kept where they still fit: delete a lock file to re-resolve it from scratch
#
# Idempotent and fast when nothing changed: the hashes of what was installed are recorded in
# .venv, and a step whose result is present is skipped. A lock records the hash of the
# dependencies in pyproject.toml it was made from; if they changed since, the lock is
# regenerated (on CI, where the lock must be committed, that is an error instead).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly UV_VERSION=0.13.9
readonly VENV=.venv
readonly STAMP=$VENV/.ledger-audit-setup
readonly MAIN_LOCK=requirements/main.lock
readonly DEV_LOCK=requirements/dev.lock
readonly PYTHON=${PYTHON:-python3}

say() { printf 'setup: %s\n' "$*"; }
die() {
    printf 'setup: error: %s\n' "$*" >&2
    exit 1
}

mode=main
relock=0
for arg in "$@"; do
    case $arg in
        --dev) mode=dev ;;
        --lock) relock=1 ;;
        -h | --help)
            awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
            exit 0
            ;;
        *) die "unknown argument '$arg' (expected --dev or --lock)" ;;
    esac
done

sha256() {
    if command -v sha256sum >/dev/null; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

# --- 1. Python ------------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null || die "$PYTHON not found on PATH: install Python 3.11 or newer"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "Python >= 3.11 is required, but $PYTHON is $("$PYTHON" -V 2>&1); set PYTHON=/path/to/python3.11"

# --- 2. the virtual environment ---------------------------------------------------------------
if [[ ! -x $VENV/bin/python ]]; then
    if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
        [[ $(id -u) == 0 ]] ||
            die "$PYTHON cannot create virtual environments: run 'sudo apt-get install python3-venv' and retry"
        say "installing python3-venv with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt_log=$(mktemp)
        # apt is chatty on stderr even when all is well: show its output on failure only.
        if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv; } \
            >"$apt_log" 2>&1; then
            cat "$apt_log" >&2
            die "apt-get could not install python3-venv (output above)"
        fi
        rm -f "$apt_log"
        "$PYTHON" -c 'import ensurepip, venv' ||
            die "python3-venv is installed but $PYTHON still cannot create virtual environments"
    fi
    say "creating $VENV with $("$PYTHON" -V 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "$VENV uses $("$VENV/bin/python" -V 2>&1), not Python >= 3.11: delete $VENV and retry"

# One setup at a time: the work tree (and so .venv) may be shared by several shells.
if command -v flock >/dev/null; then
    exec 9>"$VENV/.ledger-audit-setup.lock"
    flock 9
fi

# A dev environment is a superset of the main one (same runtime pins): never strip it down,
# or running the demo would uninstall the test tools from under whoever is testing.
if [[ $mode == dev ]]; then
    touch "$VENV/.ledger-audit-dev"
elif [[ -e $VENV/.ledger-audit-dev ]]; then
    mode=dev
fi

# --- 3. uv ----------------------------------------------------------------------------------
uv_version=$("$VENV/bin/uv" --version 2>/dev/null || true)
if [[ $uv_version != "uv $UV_VERSION" && $uv_version != "uv $UV_VERSION "* ]]; then
    say "installing uv $UV_VERSION into $VENV"
    pip_output=$("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "uv==$UV_VERSION" 2>&1) || die "pip could not install uv $UV_VERSION: $pip_output"
fi
uv=$VENV/bin/uv

# --- 4. lock files --------------------------------------------------------------------------
# The hash covers only what the locks are made from, so editing e.g. the ruff configuration in
# pyproject.toml does not make them stale.
deps_hash=$("$VENV/bin/python" - <<'EOF'
import hashlib, json, tomllib
with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)["project"]
inputs = {key: project.get(key) for key in ("requires-python", "dependencies", "optional-dependencies")}
print(hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest())
EOF
)
readonly HASH_PREFIX="# pyproject-dependencies-sha256: "

lock_is_current() { [[ -f $1 ]] && [[ $(head -n 1 "$1") == "$HASH_PREFIX$deps_hash" ]]; }

compile_lock() { # compile_lock OUTPUT [uv pip compile options...]
    local output=$1
    shift
    # One lock for every platform and Python >= 3.11; uv writes neither index URLs nor
    # find-links unless asked, and every path in it is relative to the repository root.
    "$uv" pip compile --quiet pyproject.toml --universal --python-version 3.11 \
        --custom-compile-command "scripts/setup.sh --lock" "$@" --output-file "$output"
    { printf '%s%s\n' "$HASH_PREFIX" "$deps_hash"; cat "$output"; } >"$output.tmp"
    mv "$output.tmp" "$output"
}

if ((relock)) || ! lock_is_current "$MAIN_LOCK" || ! lock_is_current "$DEV_LOCK"; then
    if ((!relock)) && [[ -n ${CI:-} ]]; then
        die "$MAIN_LOCK or $DEV_LOCK is missing or was not made from the current dependencies in" \
            "pyproject.toml: run scripts/setup.sh --lock and commit the lock files"
    fi
    say "locking dependencies from pyproject.toml into $MAIN_LOCK and $DEV_LOCK"
    mkdir -p requirements
    compile_lock "$MAIN_LOCK"
    # The dev lock is constrained by the main lock: the same runtime pins, plus the dev tools
    # and the optional engines the tests exercise (pyspark).
    compile_lock "$DEV_LOCK" --extra dev --extra spark --constraints "$MAIN_LOCK"
fi

# --- 5. install -----------------------------------------------------------------------------
# The stamp names what is installed, so that an unchanged environment costs nothing.
main_hash=$(sha256 "$MAIN_LOCK")
project_hash=$(sha256 pyproject.toml)
if [[ $mode == dev ]]; then
    lock=$DEV_LOCK
    wanted="mode=dev main=$main_hash dev=$(sha256 "$DEV_LOCK") project=$project_hash uv=$UV_VERSION"
else
    lock=$MAIN_LOCK
    wanted="mode=main main=$main_hash project=$project_hash uv=$UV_VERSION"
fi
if [[ $(cat "$STAMP" 2>/dev/null || true) == "$wanted" ]]; then
    say "$VENV is up to date with $lock"
    exit 0
fi

say "installing $lock into $VENV"
rm -f "$STAMP"
"$uv" pip sync --quiet --python "$VENV/bin/python" --compile-bytecode "$lock"
say "installing ledger-audit (editable) into $VENV"
"$uv" pip install --quiet --python "$VENV/bin/python" --compile-bytecode --no-deps --editable .
printf '%s\n' "$wanted" >"$STAMP"
say "done: $VENV matches $lock"
