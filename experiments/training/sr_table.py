"""Table of experiments/training/sr_table.sh: per row and seed, the final SR
residual and level-2 dictionary min |cos|, and the gap to the supervised row.
    .venv/bin/python experiments/training/sr_table.py OUT_DIR [--markdown FILE]"""
import json, pathlib, sys, re, statistics

out = pathlib.Path(sys.argv[1])
rows = ["supervised", "closed-gen", "closed-real", "witness-real", "witness-gen"]
label = {
    "supervised": "supervised L1 on real parents (reference, not a GAN)",
    "closed-gen": "closed-form moment pair D, learner's own pairs (old default)",
    "closed-real": "closed-form moment pair D, real parents, independent batches",
    "witness-real": "witness D, real parents, paired batches (**GAN default**: the paired conditional game)",
    "witness-gen": "witness D, learner's own pairs (the paper's game, unpaired)",
}
res = {}
for d in out.iterdir():
    m = re.fullmatch(r"(.+)-seed(\d+)", d.name)
    if not (d.is_dir() and m and (d / "metrics.jsonl").exists()):
        continue
    last = [json.loads(l) for l in open(d / "metrics.jsonl")]
    fin = [r for r in last if r["stage"] == "final"]
    if not fin:
        continue
    v = fin[-1]["values"]
    levels = max(int(k[len("sr_residual"):]) for k in v if k.startswith("sr_residual"))
    res[(m[1], int(m[2]))] = (
        [v[f"sr_residual{l}"] for l in range(2, levels + 1)],
        [v[f"dict{l}_min_cos"] for l in range(2, levels + 1)],
        fin[-1]["secs"],
    )
seeds = sorted({s for _, s in res})
lines = ["| discriminator | " + " | ".join(f"seed {s}: residual, min \\|cos\\|" for s in seeds) + " | median residual / supervised |",
         "|---|" + "---|" * (len(seeds) + 1)]
for r in rows:
    cells, ratios = [], []
    for s in seeds:
        if (r, s) not in res:
            cells.append("-"); continue
        rr, cc, secs = res[(r, s)]
        cells.append(", ".join(f"{a:.4f}" for a in rr) + " / " + ", ".join(f"{c:.4f}" for c in cc))
        if ("supervised", s) in res:
            ratios.append(max(rr) / max(res[("supervised", s)][0]))
    ratio = f"{statistics.median(ratios):.2f}x" if ratios else "-"
    lines.append(f"| {label[r]} | " + " | ".join(cells) + f" | {ratio} |")
text = "\n".join(lines)
print(text)
if "--markdown" in sys.argv:
    pathlib.Path(sys.argv[sys.argv.index("--markdown") + 1]).write_text(text + "\n")
