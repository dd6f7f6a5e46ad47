#!/usr/bin/env bash
# fsrgan vs PyTorch: the `paper` preset trained end to end with fsrgan on CUDA, then the same
# GAN steps in PyTorch eager (benches/peer/train_torch.py) on the same GPU;
# prints both tables and writes OUT_DIR/peer.json and OUT_DIR/summary.md.
#
# Usage: [PRESET=paper] [DEVICE=cuda] experiments/training/versus_torch.sh [OUT_DIR] [STEPS_SCALE]
#   OUT_DIR      run directory (default runs/$PRESET)
#   STEPS_SCALE  fraction of every stage's steps for the PyTorch peer
#                (default 1; the peer's steps/s is what is compared)
#   PRESET, DEVICE  e.g. PRESET=small DEVICE=cpu for the same side-by-side on the CPU
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
$py benches/peer/train_torch.py "$out" --device "$device" --steps-scale "$scale" --json > "$out/peer.json"
$py - "$out" <<'PY'
import json, sys
out = sys.argv[1]
p = json.load(open(f"{out}/peer.json"))
rows = [json.loads(l) for l in open(f"{out}/metrics.jsonl") if l.strip()]
wall = [r for r in rows if r["stage"] == "final"][-1]["secs"]
lines = [f"# `{p['preset']}` on {p['device']} ({p['device_name']}, {p['threads']} threads): fsrgan (tch) vs PyTorch {p['torch']} eager, {p['dtype']}, batch {p['batch']}",
         "", f"fsrgan wall time, end to end (warm starts, evaluations, checkpoints included): {wall:.1f} s", "",
         "| stage | fsrgan steps | fsrgan step s | fsrgan steps/s | PyTorch steps | PyTorch s | PyTorch steps/s | ratio |",
         "|---|---:|---:|---:|---:|---:|---:|---:|"]
for r in p["stages"] + [dict(p["total"], stage="total")]:
    rs, ps = r.get("rust_steps_per_s"), r.get("steps_per_s")
    ratio = f"{rs / ps:.2f}x" if rs and ps else "-"
    fmt = lambda x, f: "-" if x is None else format(x, f)
    lines.append(f"| {r['stage']} | {r['rust_steps']} | {fmt(r['rust_step_secs'], '.2f')} | {fmt(rs, '.1f')} "
                 f"| {r['steps']} | {r['secs']:.2f} | {fmt(ps, '.1f')} | {ratio} |")
lines += ["", "ratio: fsrgan steps/s over PyTorch steps/s (step loops only; goal >= 1.0x, stretch 1.5x)."]
open(f"{out}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
$py experiments/training/summarize.py "$out"
