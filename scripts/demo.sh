#!/usr/bin/env bash
# The main job on the embedded default ledger: set up the runtime environment, build the
# demo ledger (SQLite) with its bank statements, then run the whole month-end close on it
# headless: integrity (chain, invariants, stored balances, closed period, duplicates),
# reconciliation and drift against the bank, trial balance and ERP summary journals. The
# evidence bundle (report.html, workpaper.xlsx, tables, manifest) goes to <demo dir>/close/.
#
# Usage: scripts/demo.sh [ledger-audit demo arguments...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out="data/demo"
month="2025-01"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --out) out="${args[$((i + 1))]:-$out}" ;;
        --out=*) out="${args[$i]#--out=}" ;;
        --month) month="${args[$((i + 1))]:-$month}" ;;
        --month=*) month="${args[$i]#--month=}" ;;
    esac
done

bash scripts/setup.sh
.venv/bin/ledger-audit demo "$@"
echo
set +e
.venv/bin/ledger-audit close --period "$month" --ledger "$out/ledger.sqlite" \
    --statements "$out/statements/operating-usd.bai2" "$out/statements/operating-eur.xml" \
        "$out/statements/processor-payouts.csv" \
    --gl-mapping mappings/demo.toml --jet-rules rules/jet.toml --out "$out/close"
code=$?
set -e
if [[ $code -eq 1 ]]; then
    echo "The close exits 1 on critical findings: the demo plants them on purpose" \
        "($out/answer_key.json and $out/recon_answer_key.json list every planted anomaly)."
    echo "Open $out/close/$month/report.html in a browser."
elif [[ $code -ne 0 ]]; then
    exit "$code"
fi
