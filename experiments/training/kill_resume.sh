#!/usr/bin/env bash
# Kill a `small` run mid-stage (SIGKILL after KILL_AFTER seconds), resume it,
# and compare with an uninterrupted run: learner file byte for byte, metrics
# value for value (wall times aside).
# Usage: experiments/training/kill_resume.sh [KILL_AFTER_SECONDS] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
after=${1:-100}; out=${2:-runs/kill-resume}
mkdir -p "$out"
fsrgan=./target/release/fsrgan
$fsrgan train --preset small --out "$out/uninterrupted" --device cpu --force >/dev/null 2>&1
$fsrgan train --preset small --out "$out/killed" --device cpu --force >/dev/null 2>&1 &
pid=$!
sleep "$after"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
.venv/bin/python - "$out/killed" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl") if l.strip().endswith("}")]
print(f"killed after {rows[-1]['secs']:.0f} s of training, last row: stage {rows[-1]['stage']} step {rows[-1]['stage_step']}")
PY
$fsrgan train --resume "$out/killed" --device cpu >/dev/null 2>&1
if cmp -s "$out/uninterrupted/learner.safetensors" "$out/killed/learner.safetensors"; then
  echo "learner.safetensors: identical bytes"
else
  echo "learner.safetensors: DIFFERENT"; exit 1
fi
.venv/bin/python - "$out/uninterrupted" "$out/killed" <<'PY'
import json, sys
a, b = ([json.loads(l) for l in open(d + "/metrics.jsonl")] for d in sys.argv[1:3])
key = lambda r: (r["stage"], r["stage_step"], r["step"], r["values"])
same = len(a) == len(b) and all(key(x) == key(y) for x, y in zip(a, b))
print(f"metrics.jsonl: {len(a)} rows, {'identical values' if same else 'DIFFERENT'}")
sys.exit(0 if same else 1)
PY
