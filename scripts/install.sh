#!/usr/bin/env bash
# Everything avatar-studio needs on a fresh Debian machine, system packages included.
# Idempotent: a second run only checks. Creates the virtual environment .venv in the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3-venv libegl1 libgl1 libgl1-mesa-dri xvfb xauth assimp-utils)
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# python3-venv is only needed where python3 lacks the venv module (Debian's split packaging).
if python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    missing=("${missing[@]/python3-venv}")
fi
if [ -n "$(echo "${missing[@]}" | tr -d ' ')" ]; then
    echo "== installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ${missing[*]} >/dev/null
fi

stamp=".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
    echo "== creating .venv and installing Python packages"
    [ -x .venv/bin/python ] || python3 -m venv .venv
    # torch first, pinned: the local CPU wheel. Anything that depends on torch installed before
    # this would pull a multi-GB CUDA build.
    .venv/bin/python -m pip install -q torch==2.13.0
    .venv/bin/python -m pip install -q -e ".[test]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi

# Anny builds its model data once (1-2 minutes) into ~/.cache/anny; later starts take < 1 s.
.venv/bin/python -c "
import time; t = time.time()
from core.body.anny_body import AnnyBody, anny_cache_ready
if not anny_cache_ready():
    print('== building the Anny body model once (1-2 minutes)', flush=True)
AnnyBody()
" 
echo "== avatar-studio is installed: run .venv/bin/avatar-studio (or: source .venv/bin/activate)"
