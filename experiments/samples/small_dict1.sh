#!/usr/bin/env bash
# `small` dict1 against N: the GAN default's one 800-step dict1 stage (the
# later stages cut to 1 step) from N training samples (+ 10 000 held out),
# and from the oracle, one thread each, one run at a time.
# Usage: experiments/samples/small_dict1.sh OUT_DIR ["SEEDS"] ["NS"]
# FSRGAN names the binary (default ./target/release/fsrgan).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$1; seeds=${2:-1 2 3}; ns=${3:-10000 30000 100000 oracle}
mkdir -p "$out"
for s in $seeds; do for n in $ns; do
  name="n$n-seed$s"; [ -f "$out/$name/learner.safetensors" ] && continue
  if [ "$n" = oracle ]; then d='data = "oracle"'; else d="samples = $((n + 10000))
heldout = 10000"; fi
  printf 'preset = "small"\nseed = %s\ntrain_seed = %s\n%s\n[level1]\nsteps = 1\n[superres]\nsteps = 1\ncandidates = 1\n' "$s" "$s" "$d" > "$out/$name.toml"
  "${FSRGAN:-./target/release/fsrgan}" train --config "$out/$name.toml" --out "$out/$name" --force --threads 1 > "$out/$name.log" 2>&1
  echo "$name: $(grep -oE 'level 1: dictionary min \|cos\| [0-9.]+' "$out/$name.log")"
done; done
