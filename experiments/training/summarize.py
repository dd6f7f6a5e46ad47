"""One Markdown table row per run directory (its `init` and `final` rows):
dictionary recovery, level-1 errors, final moment gaps (c = 2, 4) as
init/final ratios and final/floor ratios, super-resolution residuals, time.
Usage: python experiments/training/summarize.py RUN_DIR [RUN_DIR ...]"""
import json, sys


def rows(d):
    return [json.loads(l) for l in open(f"{d}/metrics.jsonl") if l.strip()]


def main():
    dirs = sys.argv[1:]
    out = []
    for d in dirs:
        r = rows(d)
        init = next(x for x in r if x["stage"] == "init")["values"]
        fin = next(x for x in r if x["stage"] == "final")
        v, secs = fin["values"], fin["secs"]
        levels = max(int(k[4]) for k in v if k.startswith("dict") and k.endswith("_min_cos"))
        cells = {"run": d.rstrip("/").split("/")[-1], "secs": f"{secs:.0f}"}
        cells["min |cos| (levels)"] = " / ".join(f"{v[f'dict{l}_min_cos']:.4f}" for l in range(1, levels + 1))
        cells["alpha, beta err"] = f"{v['alpha_err']:.3f}, {v['beta_err']:.3f}"
        cells["C err"] = f"{v['c_err']:.3f}"
        worst_ratio, worst_floor = [], []
        for l in range(1, levels + 1):
            for c in (2, 4):
                g = v.get(f"gap{l}_c{c}_final", v[f"gap{l}_c{c}"])
                f = v.get(f"floor{l}_c{c}_final", v[f"floor{l}_c{c}"])
                worst_ratio.append(init[f"gap{l}_c{c}"] / g)
                worst_floor.append(g / f)
        cells["min init/final gap"] = f"{min(worst_ratio):.1f}"
        cells["max final/floor"] = f"{max(worst_floor):.2f}"
        cells["SR residual (levels 2..)"] = " / ".join(f"{v[f'sr_residual{l}']:.1e}" for l in range(2, levels + 1))
        out.append(cells)
    keys = list(out[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for c in out:
        print("| " + " | ".join(c[k] for k in keys) + " |")


if __name__ == "__main__":
    main()
