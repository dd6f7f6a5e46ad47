"""The sample-complexity table and figure of experiments/samples/run.sh.

For every variant (gan, moments, supervised) and N (training samples; `oracle`
is N = infinity), the mean over truth seeds (and the range) of the final row's
recovery: the worst level's min matched |cos| of the dictionaries, the level-1
alpha/beta/C errors, the worst A5 super-resolution residual on the truth's
samples, and the residual on the held-out and training splits (overfitting
shows as training < held-out).

Usage: python experiments/samples/table.py OUT_DIR [--markdown FILE] [--json FILE] [--svg FILE]
"""
import json, math, os, re, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
from compare import final  # noqa: E402  (the final row of a run, one reader for both tables)

METRICS = [
    ("dict_min_cos", "worst min \\|cos\\|"),
    ("alpha_err", "alpha err"),
    ("beta_err", "beta err"),
    ("c_err", "C err"),
    ("sr", "SR residual (truth)"),
    ("sr_heldout", "SR held-out"),
    ("sr_train", "SR train"),
]


def summary(v):
    levels = max(int(k[4]) for k in v if re.fullmatch(r"dict\d_min_cos", k))
    out = {
        "dict_min_cos": min(v[f"dict{l}_min_cos"] for l in range(1, levels + 1)),
        "alpha_err": v["alpha_err"],
        "beta_err": v["beta_err"],
        "c_err": v["c_err"],
        "sr": max(v[f"sr_residual{l}"] for l in range(2, levels + 1)),
    }
    for s in ("heldout", "train"):
        ks = [f"sr_residual{l}_{s}" for l in range(2, levels + 1)]
        out[f"sr_{s}"] = max(v[k] for k in ks) if all(k in v for k in ks) else float("nan")
    return out


def collect(out):
    runs = {}
    for name in os.listdir(out):
        m = re.fullmatch(r"(\w+)-n(\w+)-seed(\d+)", name)
        if not m or not os.path.isdir(os.path.join(out, name)):
            continue
        f = final(os.path.join(out, name))
        if f is None:
            continue
        v, secs = f
        rec = summary(v)
        rec["secs"] = secs
        runs.setdefault((m[1], m[2]), []).append((int(m[3]), rec))
    return runs


def n_key(n):
    return math.inf if n == "oracle" else int(n)


def fmt(xs):
    xs = [x for x in xs if x == x]
    if not xs:
        return "-"
    mean = sum(xs) / len(xs)
    return f"{mean:.3f} ({min(xs):.3f}-{max(xs):.3f})" if len(xs) > 1 else f"{mean:.3f}"


def svg(runs, path):
    """Recovery against N (log scale): one panel per metric, one line per variant."""
    panels = [("dict_min_cos", "1 - worst min |cos|", lambda x: 1 - x), ("c_err", "C err", None),
              ("sr", "SR residual (truth)", None)]
    colours = {"gan": "#1f77b4", "moments": "#d62728", "supervised": "#2ca02c"}
    ns = sorted({n for (_, n) in runs}, key=n_key)
    W, H, pad = 300, 240, 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W * len(panels)}" height="{H + 40}" font-family="sans-serif" font-size="11">']
    for pi, (key, title, tf) in enumerate(panels):
        x0 = pi * W
        pts = {}
        for (var, n), recs in runs.items():
            vals = [r[key] for _, r in recs if r[key] == r[key]]
            if vals:
                y = sum(vals) / len(vals)
                pts.setdefault(var, []).append((ns.index(n), tf(y) if tf else y))
        ys = [max(y, 1e-6) for p in pts.values() for _, y in p]
        if not ys:
            continue
        lo, hi = math.log10(min(ys)) - 0.1, math.log10(max(ys)) + 0.1
        X = lambda i: x0 + pad + i * (W - pad - 20) / max(len(ns) - 1, 1)
        Y = lambda y: 20 + (H - 40) * (hi - math.log10(max(y, 1e-6))) / (hi - lo)
        parts.append(f'<text x="{x0 + pad}" y="14">{title} (mean over seeds, log scale)</text>')
        parts.append(f'<line x1="{x0 + pad}" y1="{H - 20}" x2="{x0 + W - 20}" y2="{H - 20}" stroke="black"/>')
        parts.append(f'<line x1="{x0 + pad}" y1="20" x2="{x0 + pad}" y2="{H - 20}" stroke="black"/>')
        for i, n in enumerate(ns):
            label = "oracle" if n == "oracle" else f"1e{int(round(math.log10(int(n))))}"
            parts.append(f'<text x="{X(i) - 12}" y="{H - 5}">{label}</text>')
        for e in range(math.floor(lo), math.ceil(hi) + 1):
            if lo <= e <= hi:
                parts.append(f'<text x="{x0 + 5}" y="{Y(10 ** e) + 4}">1e{e}</text>')
        for k, (var, p) in enumerate(sorted(pts.items())):
            p.sort()
            d = " ".join(f"{X(i):.1f},{Y(y):.1f}" for i, y in p)
            c = colours.get(var, "black")
            parts.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="2"/>')
            parts.extend(f'<circle cx="{X(i):.1f}" cy="{Y(y):.1f}" r="3" fill="{c}"/>' for i, y in p)
            parts.append(f'<text x="{x0 + W - 90}" y="{34 + 14 * k}" fill="{c}">{var}</text>')
    parts.append(f'<text x="10" y="{H + 30}">x: training samples N (oracle = fresh draws every batch, N = infinity)</text></svg>')
    open(path, "w").write("\n".join(parts) + "\n")


def main():
    out = sys.argv[1]
    arg = lambda k: sys.argv[sys.argv.index(k) + 1] if k in sys.argv else None
    runs = collect(out)
    head = ["variant", "N", "seeds"] + [t for _, t in METRICS] + ["secs"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for var in ("gan", "moments", "supervised"):
        for n in sorted({n for (v, n) in runs if v == var}, key=n_key):
            recs = sorted(runs[(var, n)])
            cells = [fmt([r[k] for _, r in recs]) for k, _ in METRICS]
            secs = fmt([r["secs"] for _, r in recs])
            lines.append(f"| {var} | {n} | {','.join(str(s) for s, _ in recs)} | " + " | ".join(cells) + f" | {secs} |")
    text = "\n".join(lines)
    print(text)
    if arg("--markdown"):
        open(arg("--markdown"), "w").write(text + "\n")
    if arg("--json"):
        json.dump({f"{v}-n{n}": [dict(seed=s, **r) for s, r in sorted(recs)] for (v, n), recs in runs.items()},
                  open(arg("--json"), "w"), indent=1)
    if arg("--svg"):
        svg(runs, arg("--svg"))


if __name__ == "__main__":
    main()
