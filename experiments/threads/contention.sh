#!/usr/bin/env bash
# Wall time of an fsrgan command alone and beside another CPU job (issue
# "Training degrades gracefully when the cores are shared").
#
#   experiments/threads/contention.sh LOAD -- COMMAND...
#
# LOAD: none | torch (a 2-thread PyTorch matmul loop, as the issue's
# reproduction) | train (`fsrgan train` of the pinned tiny config, in a loop;
# extra arguments of that load in $LOAD_ARGS, e.g. LOAD_ARGS="--threads 2").
# Prints "seconds exit-status". Run it with nothing else on the machine.
# Examples (from the repository root, after `cargo build --release`):
#   experiments/threads/contention.sh none  -- target/release/fsrgan train --config experiments/training/configs/moments-tiny.toml --out runs/t --force
#   experiments/threads/contention.sh torch -- target/release/fsrgan train --preset tiny --out runs/t --force
#   experiments/threads/contention.sh train -- target/release/fsrgan sample --preset paper --n 100000 --out runs/paper --force
#   experiments/threads/contention.sh torch -- target/release/fsrgan verify
set -u
cd "$(dirname "$0")/../.."
load=$1; shift; [ "${1:-}" = "--" ] && shift
FSRGAN=${FSRGAN:-target/release/fsrgan}
case $load in
  none) ;;
  torch) .venv/bin/python -c "exec('import torch, time\ntorch.set_num_threads(2)\na = torch.randn(1500, 1500)\nt = time.time()\nwhile time.time() - t < 3600: a @ a')" & ;;
  train) (while true; do $FSRGAN train --config experiments/training/configs/moments-tiny.toml \
            --device cpu --out runs/contention-load --force ${LOAD_ARGS:-} >/dev/null 2>&1 || exit 1; done) & ;;
  *) echo "LOAD must be none, torch or train" >&2; exit 2 ;;
esac
lp=$!
[ "$load" = none ] || sleep 2   # let the load start
s=$(date +%s.%N)
"$@" >/dev/null 2>&1
rc=$?
e=$(date +%s.%N)
[ "$load" = none ] || { pkill -P "$lp" 2>/dev/null; kill "$lp" 2>/dev/null; wait 2>/dev/null; }
echo "$(echo "$e - $s" | bc) $rc"
