#!/usr/bin/env bash
# The main job on the embedded default ledger: set up the runtime environment, run the demo.
#
# Usage: scripts/demo.sh [ledger-audit demo arguments...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
exec .venv/bin/ledger-audit demo "$@"
