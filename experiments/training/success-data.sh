#!/usr/bin/env bash
# The GAN default from its preset's default data (a dataset of `samples` =
# 100 000 drawn from the truth when the run starts, 10 000 held out), one
# thread per run, one run at a time, then compare.py's table.
# Usage: experiments/training/success-data.sh PRESET "SEEDS" [OUT_DIR]
#   e.g. experiments/training/success-data.sh small "1 2 3 4 5" runs/small-data
# FSRGAN names the binary (default ./target/release/fsrgan).
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=$1; seeds=$2; out=${3:-runs/success-$preset-data}
mkdir -p "$out"
for s in $seeds; do
  name="gan-seed$s"
  [ -f "$out/$name/learner.safetensors" ] && continue
  printf 'preset = "%s"\nseed = %s\ntrain_seed = %s\n[cpu]\nthreads = 1\n' "$preset" "$s" "$s" > "$out/$name.toml"
  echo "[success-data] $name" >&2
  "${FSRGAN:-./target/release/fsrgan}" train --config "$out/$name.toml" --out "$out/$name" --device cpu --force >"$out/$name.log" 2>&1 || echo "[success-data] $name failed (see $out/$name.log)" >&2
done
.venv/bin/python experiments/training/compare.py "$preset" "$out" --json "$out/$preset-data.json"
