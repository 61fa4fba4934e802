#!/usr/bin/env bash
# The generator's GPU training job (docs/generator.md records what it gave). One script, two modes:
#   here, where Anny is installed:  bash scripts/gpu_train.sh prepare
#       writes .gen_ref/reference_body.pt, the reference rest body the wardrobe paints on (3 MB);
#   on the GPU box (carry .gen_ref): bash scripts/gpu_train.sh train BUDGET_S STEPS AVATARS
#       paints wardrobe seeds 0..AVATARS-1 into .gen_box/data on all cores when missing, trains or resumes
#       .gen_box/run (a planned STEPS-step schedule) until BUDGET_S seconds after the script started, less
#       what the rest needs, benchmarks batched sampling, and copies the checkpoint, loss plot, losses, the
#       log and a few training latents into $OUT.
#       Plan each call as a whole run: on 2026-11-21 a second call to a still-warm box found .gen_box gone
#       (the multi-GB resume state cannot come back through $OUT either). To go on from an earlier call,
#       carry its checkpoint and set GEN_INIT: decoder and denoiser continue, latents start afresh.
# GEN_DEVICE, GEN_PRESET and GEN_BATCH (default cuda, default, 32) let the same script run a tiny dry run on a CPU;
# GEN_INIT names a checkpoint folder to warm-start decoder and denoiser from (avatar-studio train --init).
# GEN_GPUS (default: every GPU the box has) > 1 trains with torchrun, one process per GPU (DDP); the learning-rate
# schedule follows the time budget when that runs out before STEPS, so a cut run still ends decayed.
# GEN_PRIOR=F trains the denoiser alone on the frozen latents for the last F of the run (train --prior-fraction).
# GEN_LATENT_LR=X sets the per-avatar latents' learning rate (train --latent-lr; default 0.02), GEN_LATENT_NOISE=S
# the decoder's input noise in units of the latent std (train --latent-noise; default 0: off), GEN_DIFFUSION_WEIGHT
# the denoiser's loss weighting (train --diffusion-weight: min-snr, the default, or min-snr+1); each only when set.
# GEN_QUALITY=1 scores the new checkpoint with scripts/quality.py on the box (500 samples against 500 held-out
# wardrobe avatars painted there on the reference body; about a minute) into $OUT/quality.json.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: gpu_train.sh prepare | train BUDGET_S STEPS AVATARS}
if [ "$mode" = prepare ]; then
    mkdir -p .gen_ref
    python -c "from core.body.anny_body import AnnyBody; from core.generator.dataset import save_reference_body
save_reference_body(AnnyBody(), '.gen_ref/reference_body.pt')"
    ls -la .gen_ref
    exit 0
fi
budget=${2:?BUDGET_S}; steps=${3:?STEPS}; avatars=${4:?AVATARS}
start=$(date +%s)
out=${OUT:?OUT must name the folder to copy results into}
device=${GEN_DEVICE:-cuda}; preset=${GEN_PRESET:-default}; batch=${GEN_BATCH:-32}
export PYTHONUNBUFFERED=1
log=$out/log.txt
{
[ "$device" = cuda ] && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, safetensors, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__, 'cuda', torch.cuda.is_available())"
mkdir -p .gen_box
if [ ! -f .gen_box/data/info.json ]; then
    workers=$(( $(nproc) - 1 ))
    resolution=$(python3 -c "from core.generator.training import PRESETS; print(PRESETS['$preset'].map_resolution)")
    python3 -m core.generator.dataset .gen_ref/reference_body.pt .gen_box/data "$avatars" "$resolution" "$workers"
fi
reserve=$(( ${GEN_QUALITY:-0} == 1 ? 200 : 80 ))
left=$(( budget - ($(date +%s) - start) - reserve ))
minutes=$(python3 -c "print(round(max(0.5, $left / 60), 2))")
echo "training for $minutes minutes"
gpus=${GEN_GPUS:-$( [ "$device" = cuda ] && python3 -c "import torch; print(torch.cuda.device_count())" || echo 1)}
launch="python3"
if [ "$gpus" -gt 1 ]; then
    # NVLink multicast stays off on shared hosts (device README).
    export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 OMP_NUM_THREADS=4
    launch="python3 -m torch.distributed.run --standalone --nproc_per_node $gpus"
fi
echo "training on $gpus GPU(s)"
$launch main.py train --out .gen_box/run --data .gen_box/data --steps "$steps" --batch "$batch" \
    --device "$device" --preset "$preset" --minutes "$minutes" ${GEN_INIT:+--init "$GEN_INIT"} \
    --prior-fraction "${GEN_PRIOR:-0}" ${GEN_LATENT_LR:+--latent-lr "$GEN_LATENT_LR"} \
    ${GEN_LATENT_NOISE:+--latent-noise "$GEN_LATENT_NOISE"} ${GEN_DIFFUSION_WEIGHT:+--diffusion-weight "$GEN_DIFFUSION_WEIGHT"}
python3 - "$device" <<'PY'
import json, sys, time, torch
from core.generator import Generator
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
device = sys.argv[1]
sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
g = Generator.load(".gen_box/run", device=device)
seeds = list(range(16))
result = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "steps": g.config.diffusion.sample_steps, "batch": len(seeds)}
for name, fn in (("sample_s", lambda: g.sample(seeds)),
                 ("sample_decode_gpu_s", lambda: g.nets.decoder(g.sample(seeds))),
                 ("sample_decode_to_cpu_maps_s", lambda: g.decode(g.sample(seeds)))):
    fn(); sync()
    times = []
    for _ in range(5):
        t = time.perf_counter(); fn(); sync(); times.append(time.perf_counter() - t)
    result[name] = round(min(times), 4)
print("benchmark", json.dumps(result), flush=True)
json.dump(result, open(".gen_box/run/bench.json", "w"))
PY
if [ "${GEN_QUALITY:-0}" = 1 ]; then
    python3 scripts/quality.py --checkpoint .gen_box/run --cache .gen_box/quality --workers "$(( $(nproc) - 1 ))" \
        --device "$device" --reference-body .gen_ref/reference_body.pt --json "$out/quality.json"
fi
} 2>&1 | tee "$log"
for f in model.safetensors config.json loss.png losses.csv latents_sample.safetensors bench.json; do
    cp ".gen_box/run/$f" "$out/"
done
ls -la "$out"
echo "script took $(( $(date +%s) - start )) s"
