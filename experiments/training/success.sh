#!/usr/bin/env bash
# Success rates over truth seeds (training seed = truth seed), the GAN default
# beside its baselines: for each seed and each variant, one run of
#   gan         the preset (GAN default: every stage from the random start)
#   moments     PRESET:moments (the method-of-moments baseline)
#   supervised  PRESET:supervised (GAN lower levels, then L1 super-resolution)
# then one comparison table (experiments/training/compare.py).
# Usage: experiments/training/success.sh PRESET "SEEDS" [OUT_DIR] [VARIANTS]
#   e.g. experiments/training/success.sh tiny "1 2 3 4 5 6 7 8 9 10"
#        experiments/training/success.sh small "1 2 3 4 5" runs/success-small "gan moments"
# Runs one training at a time (two at once on two cores slow each other down).
# FSRGAN names the binary (default ./target/release/fsrgan).
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=$1; seeds=$2; out=${3:-runs/success-$preset}; variants=${4:-gan moments supervised}
mkdir -p "$out"
for v in $variants; do
  for s in $seeds; do
    name="$v-seed$s"
    [ -f "$out/$name/learner.safetensors" ] && continue
    case $v in
      gan) p="$preset" ;;
      *) p="$preset:$v" ;;
    esac
    printf 'preset = "%s"\nseed = %s\ntrain_seed = %s\n' "$p" "$s" "$s" > "$out/$name.toml"
    echo "[success] $name" >&2
    "${FSRGAN:-./target/release/fsrgan}" train --config "$out/$name.toml" --out "$out/$name" --device cpu --force >"$out/$name.log" 2>&1 || echo "[success] $name failed (see $out/$name.log)" >&2
  done
done
.venv/bin/python experiments/training/compare.py "$preset" "$out"
