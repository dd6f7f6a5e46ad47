#!/usr/bin/env bash
# fsrgan vs PyTorch: the `paper` preset trained end to end by the GAN default with fsrgan on
# CUDA, then the same GAN-default step of every stage in PyTorch eager
# (benches/peer/gan_torch.py; for a PRESET:moments baseline, its training loop,
# benches/peer/train_torch.py) on the same GPU; writes OUT_DIR/peer.json and
# OUT_DIR/summary.md (seconds per step of each stage, the ratio).
#
# Usage: [PRESET=paper] [DEVICE=cuda] experiments/training/versus_torch.sh [OUT_DIR] [STEPS_SCALE]
#   OUT_DIR      run directory (default runs/$PRESET)
#   STEPS_SCALE  (baselines only) fraction of every stage's steps for train_torch.py
#   PRESET, DEVICE  e.g. PRESET=small DEVICE=cpu THREADS=2 for the same side-by-side on the CPU
#   PEER_STEPS   steps the GAN-default peer times per stage (default 50)
#
# On a GPU machine with this checkout built (`cargo build --release`):
#   experiments/training/versus_torch.sh
# On the project's lent GPU machine (no Rust, no OpenBLAS or font libraries
# there): build here and bundle the binary's non-libtorch shared libraries,
#   cargo build --release && experiments/training/versus_torch.sh bundle
# then carry both and run the script there, e.g. with the device tool
#   run(command="experiments/training/versus_torch.sh $OUT/paper",
#       carry=["target/release/fsrgan", "target/gpu-libs"])
# and copy $OUT/paper/{summary.md,peer.json,metrics.csv,*.png} into
# experiments/training/results/gpu/. Without fonts there the plots may fail
# after training; the run (metrics, learner, checkpoints) is complete anyway
# and `fsrgan report RUN_DIR` redraws them here.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = bundle ]; then
  mkdir -p target/gpu-libs
  ldd target/release/fsrgan | awk '$3 ~ /^\// {print $3}' \
    | grep -v -e torch -e nvidia -e '/libc\.so' -e '/libm\.so' -e '/libdl\.so' -e '/librt\.so' \
              -e '/libpthread\.so' -e '/libutil\.so' -e '/libgcc_s\.so' -e '/libstdc++\.so' \
    | xargs -r cp -L -t target/gpu-libs
  ls target/gpu-libs; exit 0
fi
preset=${PRESET:-paper}; device=${DEVICE:-cuda}
out=${1:-runs/$preset}; scale=${2:-1}
if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
# The binary's RUNPATH names the build machine's libtorch; elsewhere use the
# local torch wheel's (the same libtorch 2.11.0), and the bundled libraries.
torchlib=$($py -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$torchlib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
[ -d target/gpu-libs ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$PWD/target/gpu-libs"
if [ "$device" = cuda ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  $py -c 'import torch; assert torch.cuda.is_available(), "torch sees no CUDA device"'
fi

./target/release/fsrgan train --preset "$preset" --device "$device" --out "$out" --force \
  || { test -f "$out/learner.safetensors" && echo "(training complete; only the plots failed)"; }
case $preset in
  *:*) # a baseline: the PyTorch peer of its training loop
    $py benches/peer/train_torch.py "$out" --device "$device" --steps-scale "$scale" --json > "$out/peer.json"
    $py experiments/training/summarize.py "$out"; exit 0 ;;
esac
# The GAN default: the PyTorch peer of one GAN-default step of every stage
# (benches/peer/gan_torch.py), against fsrgan's step-loop seconds per step.
threads=${THREADS:-$(nproc)}
$py benches/peer/gan_torch.py --preset "$preset" --device "$device" --threads "$threads" \
  --steps "${PEER_STEPS:-50}" > "$out/peer.json"
$py - "$out" <<'PY'
import json, sys, tomllib
out = sys.argv[1]
p = json.load(open(f"{out}/peer.json"))
cfg = tomllib.load(open(f"{out}/config.toml", "rb"))
rows = [json.loads(l) for l in open(f"{out}/metrics.jsonl") if l.strip()]
final = [r for r in rows if r["stage"] == "final"][-1]
table = {"dict1": "dictionary", "level1": "level1"}
lines = [f"# `{p['preset']}` GAN default on {p['device']} ({p['threads']} threads, {p['dtype']}): fsrgan (tch) vs PyTorch eager",
         "", f"fsrgan wall time, end to end (evaluations and checkpoints included): {final['secs']:.1f} s", "",
         "| stage | fsrgan steps run | fsrgan s/step | PyTorch s/step | ratio (PyTorch s / fsrgan s) |",
         "|---|---:|---:|---:|---:|"]
for stage, peer in p["secs_per_step"].items():
    s = cfg[table.get(stage, "superres")]
    k = s.get("candidates", 1)
    run = s["steps"] + (k - 1) * s.get("select_after", 0) if k > 1 else s["steps"]
    last = [r for r in rows if r["stage"] == stage and r.get("step_secs") is not None and r["stage_step"] == s["steps"]]
    if not last:
        continue
    rust = last[-1]["step_secs"] / run
    lines.append(f"| {stage} | {run} | {rust:.4f} | {peer:.4f} | {peer / rust:.2f}x |")
lines += ["", "ratio >= 1: fsrgan's GAN step is at least as fast as PyTorch eager's (goal >= 1.0x)."]
open(f"{out}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
$py experiments/training/summarize.py "$out" || true
