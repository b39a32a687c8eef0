#!/usr/bin/env bash
# The whole test command, as CI runs it: set up, lint, type-check, test.
#
# Usage: scripts/test.sh [pytest arguments...]   e.g. scripts/test.sh tests/schema -k ddl
# Exits non-zero, naming the step, as soon as a step fails. pytest's "no tests ran" (exit 5)
# is a failure too: a test command that tested nothing must not pass.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { # step NAME COMMAND [ARGS...]
    local name=$1 status=0
    shift
    printf '==> %s\n' "$name"
    "$@" || status=$?
    if ((status != 0)); then
        local why=""
        [[ $name == pytest && $status == 5 ]] && why=" (no tests ran)"
        printf 'test.sh: step "%s" failed with exit code %d%s\n' "$name" "$status" "$why" >&2
        exit "$status"
    fi
}

step setup bash scripts/setup.sh --dev
step ensure-postgres bash scripts/ensure-postgres.sh
step ensure-chromium bash scripts/ensure-chromium.sh
step ensure-tools bash scripts/ensure-tools.sh
step ensure-java bash scripts/ensure-java.sh
step ruff .venv/bin/ruff check --quiet .
step shellcheck shellcheck scripts/*.sh .ci/run
step mypy .venv/bin/mypy
# Two workers, each test file on one of them (its module fixtures built once): the suite took
# 29 min in one process on this project's 2-core machines, 16.5 min this way.
step pytest .venv/bin/pytest --numprocesses 2 --dist loadfile "$@"
printf 'test.sh: all steps passed\n'
