#!/usr/bin/env bash
# One super-resolution layer learned from a random start, on a recovered
# level 1 (dict1 and level1 set by the method of moments' estimators, one
# step each: an oracle-quality level 1, so the table isolates the
# super-resolution game), against each discriminator: the gap between
# each GAN and the supervised reference, as a number (issue "The GAN learns
# super-resolution", the crate's version of ../shared/proto/sr_moment_gan.py's
# table). Rows:
#   supervised      the L1 term on real parents alone (a reference, not a GAN)
#   closed-gen      closed-form moment pair D, the learner's own pairs (the old default)
#   closed-real     closed-form moment pair D, real parents (conditional, independent batches)
#   witness-real    witness D, real parents, paired batches (the GAN default)
#   witness-gen     witness D, the learner's own pairs (the paper's game, unpaired)
# Usage: experiments/training/sr_table.sh PRESET "SEEDS" OUT_DIR
#   e.g. experiments/training/sr_table.sh tiny "11 12 13" runs/sr-table
# then:  .venv/bin/python experiments/training/sr_table.py OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=$1; seeds=$2; out=$3
mkdir -p "$out"
row() {
  case $1 in
    supervised)   printf 'condition = "real"\n[superres]\nadversarial = 0.0\nrecon = 1.0\ncandidates = 1\n' ;;
    closed-gen)   printf 'condition = "generated"\n[superres]\ndisc = "closed"\nlr_d = 1.0\nlr_g = 0.02\n' ;;
    closed-real)  printf 'condition = "real"\n[superres]\ndisc = "closed"\nlr_d = 1.0\nlr_g = 0.02\n' ;;
    witness-real) printf 'condition = "real"\n' ;;
    witness-gen)  printf 'condition = "generated"\n' ;;
  esac
}
for s in $seeds; do
  for r in supervised closed-gen closed-real witness-real witness-gen; do
    name="$r-seed$s"
    [ -f "$out/$name/learner.safetensors" ] && continue
    {
      printf 'preset = "%s"\nseed = %s\ntrain_seed = %s\n' "$preset" "$s" "$s"
      row "$r"
      printf '[dictionary]\ninit = "moments"\nsteps = 1\n[level1]\ninit = "moments"\nsteps = 1\n'
    } | .venv/bin/python -c '
import sys, tomllib, json
# merge the repeated [superres] tables into one TOML document
text = sys.stdin.read().split("\n")
tables, cur = {"": []}, ""
for line in text:
    if line.startswith("["):
        cur = line.strip("[] "); tables.setdefault(cur, [])
    elif line.strip():
        tables[cur].append(line)
out = "\n".join(tables.pop(""))
for k, v in tables.items():
    out += f"\n[{k}]\n" + "\n".join(v)
print(out)' > "$out/$name.toml"
    echo "[sr-table] $name" >&2
    "${FSRGAN:-./target/release/fsrgan}" train --config "$out/$name.toml" --out "$out/$name" --device cpu --force >"$out/$name.log" 2>&1 || echo "[sr-table] $name failed (see $out/$name.log)" >&2
  done
done
