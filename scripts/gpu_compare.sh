#!/bin/bash
# The GPU comparison of issue 8 in one call on a lent GPU box (see scripts/gpu_compare.py).
#
# Here, once:  python scripts/gpu_compare.py prepare        -> .gpu/compare_inputs.npz (needs Anny)
#              wheels in .whl/ (moderngl 5.13.0, glcontext 3.1.0, gsplat 1.5.3, pyglm 2.8.3, cp312) and the
#              GL loader debs in .gl/ (libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 libvulkan1)
# There:       scripts/gpu_compare.sh [--smoke]   with .gpu, .whl and .gl carried; writes under $OUT
#              compare.md/.json, agreement.png, log.txt and tests.txt (tests/test_gsplat_backend.py there).
# A gsplat_cuda.so built by an earlier call (brought back through $OUT) in .gpu/ skips gsplat's ~70 s build.
set -euo pipefail
: "${OUT:?set OUT to the folder for the results}"
cd "$(dirname "$0")/.."
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
export TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=16 TORCH_EXTENSIONS_DIR=/tmp/tx
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,temperature.gpu --format=csv | tee "$OUT/log.txt"
prebuilt=()
if [ -f .gpu/gsplat_cuda.so ]; then prebuilt=(--gsplat-so .gpu/gsplat_cuda.so); fi
status=0
python3 scripts/gpu_compare.py run --inputs .gpu/compare_inputs.npz --out "$OUT" "${prebuilt[@]}" "$@" 2>&1 \
  | tee -a "$OUT/log.txt" || status=$?
python3 scripts/gpu_compare.py test "${prebuilt[@]}" 2>&1 | tee "$OUT/tests.txt" || status=$?
built=$(find /tmp/tx -name 'gsplat_cuda*.so' 2>/dev/null | head -1 || true)  # no /tmp/tx when preloaded
if [ ${#prebuilt[@]} -eq 0 ] && [ -n "$built" ]; then cp "$built" "$OUT/gsplat_cuda.so"; fi
exit $status
