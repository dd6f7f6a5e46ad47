#!/usr/bin/env bash
# Recovery over seeds: trains PRESET for each (truth seed, train seed) pair and
# prints one table row per run from its `final` row (fsrgan summary numbers).
# Usage: experiments/training/seeds.sh PRESET "1 2 3" [OUT_DIR]
#   e.g. experiments/training/seeds.sh tiny "1 2 3 4 5"   (about 1 min per run)
#        experiments/training/seeds.sh small "1 2 3"      (about 4 min per run)
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=$1; seeds=$2; out=${3:-runs/seeds-$preset}
mkdir -p "$out"
for s in $seeds; do
  printf 'preset = "%s"\nseed = %s\ntrain_seed = %s\n' "$preset" "$s" "$s" > "$out/seed$s.toml"
  ./target/release/fsrgan train --config "$out/seed$s.toml" --out "$out/seed$s" --device cpu --force >/dev/null 2>&1
done
.venv/bin/python experiments/training/summarize.py "$out"/seed*/
