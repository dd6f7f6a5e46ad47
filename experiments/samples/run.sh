#!/usr/bin/env bash
# Sample complexity: recovery against the number N of training samples, for
# the GAN default (paired conditional game for super-resolution), the
# method-of-moments baseline and the supervised baseline, on the same truths
# (truth seed = training seed). Each run trains from a dataset of N samples
# of the truth drawn when it starts (`samples = N + 10000`, `heldout = 10000`:
# N training samples exactly, and one held-out split of 10 000 for every N,
# so the metrics' real side is the same size); N = oracle is `data = "oracle"`
# (every batch a fresh draw: N = infinity).
# Usage: experiments/samples/run.sh PRESET "SEEDS" "NS" OUT_DIR ["VARIANTS"] [PARALLEL]
#   e.g. experiments/samples/run.sh tiny "1 2 3" "1000 10000 100000 oracle" runs/samples-tiny
# Then: .venv/bin/python experiments/samples/table.py OUT_DIR [--markdown F] [--json F] [--svg F]
# Runs PARALLEL trainings at once (default 2), one thread each; existing
# finished runs are kept. FSRGAN names the binary (default ./target/release/fsrgan).
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=$1; seeds=$2; ns=$3; out=$4; variants=${5:-gan moments supervised}; par=${6:-2}
mkdir -p "$out"
jobs=()
for v in $variants; do
  for n in $ns; do
    for s in $seeds; do
      name="$v-n$n-seed$s"
      [ -f "$out/$name/learner.safetensors" ] && continue
      case $v in gan) p="$preset" ;; *) p="$preset:$v" ;; esac
      if [ "$n" = oracle ]; then
        data='data = "oracle"'
      else
        data="samples = $((n + 10000))
heldout = 10000"
      fi
      printf 'preset = "%s"\nseed = %s\ntrain_seed = %s\n%s\n' "$p" "$s" "$s" "$data" > "$out/$name.toml"
      jobs+=("$name")
    done
  done
done
run_one() {
  echo "[samples] $1" >&2
  "${FSRGAN:-./target/release/fsrgan}" train --config "$out/$1.toml" --out "$out/$1" --device cpu --threads 1 --force >"$out/$1.log" 2>&1 \
    || echo "[samples] $1 failed (see $out/$1.log)" >&2
}
export -f run_one; export out FSRGAN
printf '%s\n' "${jobs[@]}" | xargs -r -P "$par" -I{} bash -c 'run_one {}'
.venv/bin/python experiments/samples/table.py "$out"
