#!/usr/bin/env bash
# The whole test suite, from a fresh clone: makes sure the install is complete, then runs pytest
# under a virtual X server (the GUI tests open a real window).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m pytest -q "$@"
