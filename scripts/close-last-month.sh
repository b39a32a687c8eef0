#!/usr/bin/env bash
# The scheduled month-end close: close last month (UTC) of one ledger and write its evidence
# bundle to $LEDGER_AUDIT_OUT/YYYY-MM/. Run by cron or the systemd timer in deploy/ (see
# docs/scheduling.md); safe to run by hand and to rerun (a rerun replaces the bundle).
#
# Usage: scripts/close-last-month.sh ENV_FILE [--period YYYY-MM]
#
# ENV_FILE (see deploy/close.env.example) sets:
#   LEDGER_AUDIT_LEDGER      the ledger: SQLite file, PostgreSQL URL or Parquet/CSV folder
#   LEDGER_AUDIT_OUT         where bundles go (DIR/YYYY-MM/)
#   LEDGER_AUDIT_STATEMENTS  optional: a folder holding one sub-folder per month (YYYY-MM/)
#                            of bank and processor files; none: no reconciliation
#   LEDGER_AUDIT_SOURCE_MAPPING  optional: a source mapping (docs/mapping.md) when the ledger
#                            is your own schema; none: the ledger has the canonical tables
#   LEDGER_AUDIT_GL_MAPPING  optional: the GL mapping TOML; none: no summary journals
#   LEDGER_AUDIT_RULES       optional: the matching rules TOML (default rules/default.toml)
#
# The previous month's checkpoints.json, when its bundle exists, is passed on: the chain
# must extend what the last close vouched for. Exit code: ledger-audit close's (0 clean,
# 1 critical findings, 2 bad input, 3 the notebook failed): cron mails, systemd logs it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ $# -lt 1 || ! -f "$1" ]]; then
    echo "usage: $0 ENV_FILE [--period YYYY-MM]" >&2
    exit 2
fi
set -a
# shellcheck disable=SC1090 # the operator's settings
source "$1"
set +a
if [[ -n "${LEDGER_AUDIT_MAPPING:-}" ]]; then
    echo "close: LEDGER_AUDIT_MAPPING is now LEDGER_AUDIT_GL_MAPPING (the GL mapping);" \
        "LEDGER_AUDIT_SOURCE_MAPPING is a source mapping: rename it in $1" >&2
    exit 2
fi
shift
: "${LEDGER_AUDIT_LEDGER:?is not set in the env file}"
: "${LEDGER_AUDIT_OUT:?is not set in the env file}"

# last month, from the first of this month (UTC); LEDGER_AUDIT_TODAY fixes "today" for tests
today="${LEDGER_AUDIT_TODAY:-$(date -u +%Y-%m-%d)}"
period="$(date -u -d "$(date -u -d "$today" +%Y-%m-01) -1 day" +%Y-%m)"
if [[ "${1:-}" == "--period" ]]; then
    period="${2:?--period needs YYYY-MM}"
fi
previous="$(date -u -d "$period-01 -1 day" +%Y-%m)"

args=(close --period "$period" --ledger "$LEDGER_AUDIT_LEDGER" --out "$LEDGER_AUDIT_OUT")
if [[ -n "${LEDGER_AUDIT_STATEMENTS:-}" ]]; then
    folder="$LEDGER_AUDIT_STATEMENTS/$period"
    if [[ ! -d "$folder" ]]; then
        echo "close $period: no statements folder $folder" >&2
        exit 2
    fi
    mapfile -t files < <(find "$folder" -maxdepth 1 -type f ! -name '.*' | sort)
    if [[ ${#files[@]} -eq 0 ]]; then
        echo "close $period: $folder holds no statement files" >&2
        exit 2
    fi
    args+=(--statements "${files[@]}")
fi
[[ -n "${LEDGER_AUDIT_SOURCE_MAPPING:-}" ]] && args+=(--mapping "$LEDGER_AUDIT_SOURCE_MAPPING")
[[ -n "${LEDGER_AUDIT_GL_MAPPING:-}" ]] && args+=(--gl-mapping "$LEDGER_AUDIT_GL_MAPPING")
[[ -n "${LEDGER_AUDIT_RULES:-}" ]] && args+=(--rules "$LEDGER_AUDIT_RULES")
if [[ -f "$LEDGER_AUDIT_OUT/$previous/checkpoints.json" ]]; then
    args+=(--checkpoint "$LEDGER_AUDIT_OUT/$previous/checkpoints.json")
fi

echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) close $period: ledger-audit ${args[*]}"
exec "$here/.venv/bin/ledger-audit" "${args[@]}"
