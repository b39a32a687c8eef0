#!/usr/bin/env bash
# Open the notebooks in JupyterLab: set up .venv when needed (scripts/setup.sh, fast when
# nothing changed), then start .venv/bin/jupyter lab in notebooks/, where JupyterLab also
# starts each notebook's kernel. Run as root (as the set-up asks on a fresh machine), it
# passes --allow-root, without which Jupyter refuses to start; without a display it passes
# --no-browser: open the URL it prints (token included) in a browser, through an SSH tunnel
# (ssh -L 8888:localhost:8888 host) on a remote machine.
#
# Usage: scripts/lab.sh [jupyter lab arguments...]   e.g. scripts/lab.sh --port 8899
#
# The notebooks read the demo by default (bash scripts/demo.sh builds it in data/demo);
# LEDGER_AUDIT_DATA names another data folder for their data/... defaults.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
args=()
if [[ $(id -u) == 0 ]]; then
    args+=(--allow-root)
fi
if [[ $(uname -s) != Darwin && -z ${DISPLAY:-} && -z ${WAYLAND_DISPLAY:-} ]]; then
    args+=(--no-browser)
fi
cd notebooks
exec ../.venv/bin/jupyter lab "${args[@]}" "$@"
