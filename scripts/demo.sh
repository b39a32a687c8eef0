#!/usr/bin/env bash
# The main job on the embedded default ledger: set up the runtime environment, build the
# demo ledger (SQLite), then verify it: chain, invariants, stored balances, closed period,
# duplicate payments (findings in <demo dir>/verify/), then reconcile its bank-account entries
# against the bank statements the demo wrote (matches and breaks in <demo dir>/reconcile/).
#
# Usage: scripts/demo.sh [ledger-audit demo arguments...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out="data/demo"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --out) out="${args[$((i + 1))]:-$out}" ;;
        --out=*) out="${args[$i]#--out=}" ;;
    esac
done

bash scripts/setup.sh
.venv/bin/ledger-audit demo "$@"
echo
set +e
.venv/bin/ledger-audit verify "$out/ledger.sqlite" --out "$out/verify"
code=$?
set -e
if [[ $code -eq 1 ]]; then
    echo "verify exits 1 on critical findings: the demo plants them on purpose ($out/answer_key.json lists them)."
elif [[ $code -ne 0 ]]; then
    exit "$code"
fi
echo
.venv/bin/ledger-audit reconcile --ledger "$out/ledger.sqlite" \
    --statements "$out/statements/operating-usd.bai2" "$out/statements/operating-eur.xml" \
    --out "$out/reconcile"
echo "The planted reconciliation breaks are listed in $out/recon_answer_key.json."
