"""The success-rate table of experiments/training/success.sh: for every truth
seed, the GAN default's final metrics beside the method-of-moments baseline
(`moments`) and, for the super-resolution layers, the supervised baseline
(`supervised`), and whether the GAN run meets every target of the issue "The
GAN itself learns":

* min matched |cos| of every level's dictionary >= 0.99 (tiny) / 0.95 (others);
* level-1 alpha and beta errors <= 0.05, C error <= 1.5x the baseline's;
* A5 super-resolution residual <= 0.02 at every level >= 2 (no L1 term);
* moment gaps c = 2, 4 of every level within 3x their floors in the final
  row (65,536 fresh samples; the real reference is drawn independently of
  every real sample the training used).

SR target: <= 0.02, or <= 1.5x the supervised baseline's residual on the
same truth when that is larger (the verdict says `SR2 (sup)` when a level
met its target only through the supervised bound, e.g. `no: C; SR2 (sup)`).

Before the table it names the game and the data of the GAN runs, from
their `config.toml` (`condition`, `[superres] disc`, `data`; a run
without `data` predates datasets and was trained from the oracle).

Usage: python experiments/training/compare.py PRESET OUT_DIR [--json FILE] [--baseline FILE]
Prints a Markdown table and the success count; with --json also writes the
numbers. --baseline takes the `moments` and `supervised` numbers of a seed
from an earlier --json file when OUT_DIR has no such run (the baselines'
runs are deterministic and unchanged by the GAN default)."""
import json, os, sys


def final(d):
    path = os.path.join(d, "metrics.jsonl")
    if not os.path.exists(path):
        return None
    rows = [json.loads(l) for l in open(path) if l.strip()]
    fin = [r for r in rows if r["stage"] == "final"]
    return (fin[-1]["values"], fin[-1]["secs"]) if fin else None


def levels_of(v):
    return max(int(k[4]) for k in v if k.startswith("dict") and k.endswith("_min_cos"))


def gap_ratio(v, levels):
    worst = 0.0
    for l in range(1, levels + 1):
        for c in (2, 4):
            g = v.get(f"gap{l}_c{c}_final", v[f"gap{l}_c{c}"])
            f = v.get(f"floor{l}_c{c}_final", v[f"floor{l}_c{c}"])
            worst = max(worst, g / f)
    return worst


def targets(preset, v, base, sup=None):
    """The targets the run misses, and the SR levels it met only through
    the 1.5x-supervised bound (`SR{l} (sup)`)."""
    levels = levels_of(v)
    cos_min = 0.99 if preset == "tiny" else 0.95
    fails, by_sup = [], []
    for l in range(1, levels + 1):
        if not v[f"dict{l}_min_cos"] >= cos_min:
            fails.append(f"dict{l}")
    for k in ("alpha_err", "beta_err"):
        if not v[k] <= 0.05:
            fails.append(k.split("_")[0])
    if base is not None and not v["c_err"] <= 1.5 * base["c_err"]:
        fails.append("C")
    for l in range(2, levels + 1):
        bound = 0.02
        if sup is not None and 1.5 * sup[f"sr_residual{l}"] > bound:
            bound = 1.5 * sup[f"sr_residual{l}"]
        if not v[f"sr_residual{l}"] <= bound:
            fails.append(f"SR{l}")
        elif not v[f"sr_residual{l}"] <= 0.02:
            by_sup.append(f"SR{l} (sup)")
    if not gap_ratio(v, levels) <= 3.0:
        fails.append("gaps")
    return fails, by_sup


def game_and_data(run):
    """The super-resolution game and the data source of a run, from its
    config.toml (None without one)."""
    path = os.path.join(run, "config.toml")
    if not os.path.exists(path):
        return None
    import tomllib
    cfg = tomllib.load(open(path, "rb"))
    disc = cfg.get("superres", {}).get("disc", "?")
    cond = cfg.get("condition", "?")
    game = {"real": "the paired conditional game", "generated": "the paper's unpaired game (the learner's own pairs)"}.get(cond, cond)
    data = cfg.get("data", "oracle")
    data = "the oracle (fresh draws of the truth, N = inf)" if data == "oracle" else f"a dataset ({cfg.get('dataset') or str(cfg.get('samples', '?')) + ' samples drawn from the truth'})"
    return f"super-resolution: disc = \"{disc}\" in {game}; data: {data}"


def main():
    preset, out = sys.argv[1], sys.argv[2]
    json_out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    earlier = {}
    if "--baseline" in sys.argv:
        for rec in json.load(open(sys.argv[sys.argv.index("--baseline") + 1])):
            earlier[rec["seed"]] = rec
    seeds = sorted({int(n.split("seed")[1]) for n in os.listdir(out) if "-seed" in n and os.path.isdir(os.path.join(out, n))})
    games = sorted({g for s in seeds if (g := game_and_data(os.path.join(out, f"gan-seed{s}")))})
    for g in games:
        print(f"GAN runs: {g}")
    if games:
        print()
    head = ["seed", "min \\|cos\\| GAN / MoM", "alpha, beta err GAN / MoM", "C err GAN / MoM",
            "SR residual GAN / MoM / sup.", "max final/floor GAN / MoM / sup.", "secs GAN / MoM / sup.", "GAN meets all"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    ok, n, records = 0, 0, []
    for s in seeds:
        runs = {v: final(os.path.join(out, f"{v}-seed{s}")) for v in ("gan", "moments", "supervised")}
        for v in ("moments", "supervised"):
            if runs[v] is None and earlier.get(s, {}).get(v) is not None:
                runs[v] = (earlier[s][v], float("nan"))
        g, m, sup = (runs[k][0] if runs[k] else None for k in ("gan", "moments", "supervised"))
        secs = " / ".join(f"{runs[k][1]:.0f}" if runs[k] and runs[k][1] == runs[k][1] else ("(earlier)" if runs[k] else "-") for k in ("gan", "moments", "supervised"))
        if g is None:
            print(f"| {s} | (no GAN run) |||||| {secs} | - |")
            continue
        levels = levels_of(g)
        cos = lambda v: "-" if v is None else ", ".join(f"{v[f'dict{l}_min_cos']:.4f}" for l in range(1, levels + 1))
        ab = lambda v: "-" if v is None else f"{v['alpha_err']:.3f}, {v['beta_err']:.3f}"
        ce = lambda v: "-" if v is None else f"{v['c_err']:.3f}"
        sr = lambda v: "-" if v is None else ", ".join(f"{v[f'sr_residual{l}']:.3f}" for l in range(2, levels + 1))
        gr = lambda v: "-" if v is None else f"{gap_ratio(v, levels):.2f}"
        fails, by_sup = targets(preset, g, m, sup)
        n += 1
        ok += not fails
        verdict = "yes" if not fails else "no: " + ", ".join(fails)
        if by_sup:
            verdict += "; " + ", ".join(by_sup)
        print(f"| {s} | {cos(g)} / {cos(m)} | {ab(g)} / {ab(m)} | {ce(g)} / {ce(m)} | {sr(g)} / {sr(m)} / {sr(sup)} | {gr(g)} / {gr(m)} / {gr(sup)} | {secs} | {verdict} |")
        records.append({"seed": s, "gan": g, "moments": m, "supervised": sup, "fails": fails, "by_sup": by_sup})
    print(f"\nGAN default meets every target in {ok} of {n} runs.")
    if json_out:
        json.dump(records, open(json_out, "w"), indent=1)


if __name__ == "__main__":
    main()
