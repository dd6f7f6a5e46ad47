#!/usr/bin/env python3
"""The GAN family on FSR data (issue 23): every method of
experiments/family/configs/PRESET/*.toml trained on the preset's data and
scored against the truth; the table and the figure of the results.

    experiments/family/family.py run PRESET OUT [--methods ..] [--seeds 1 2 3]
                                     [--parallel 2] [--threads 1]
    experiments/family/family.py table OUT [OUT ...] [--markdown FILE] [--json FILE]

`run` samples three datasets of 50,000 samples (seed 1) into OUT unless
they exist: `data` (the ordinary truth), `data-classes` (`--classes 3`, a
labelled mixture: cGAN and InfoGAN) and `data-domains` (`--domains 2`:
CycleGAN), writes each method's config with the seed set into
OUT/<method>-s<seed>/run.toml and runs `fsrgan train` on it, PARALLEL at a
time with THREADS threads each. `table` reads every run's final row (and
RUN/pairs.json, `cargo run --release --example family_pairs -- RUN`, for a
run that predates the pair SWD in its final row) and prints, per method, the mean over seeds (and the range) of each level's
patch SWD over its floor, atom coverage, the generator's active channels
(E3; the target's in the header), MS-SSIM against the real pairs', the
method's own score and the wall time; `--json` also writes what
experiments/family/figure draws (`cargo run --release --example
family_figure -- FILE.json family.png`).
"""
import argparse
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FSRGAN = os.environ.get("FSRGAN", os.path.join(ROOT, "target", "release", "fsrgan"))
CONFIGS = os.path.join(ROOT, "experiments", "family", "configs")
ORDER = ["gan", "improved", "feature_matching", "minibatch", "historical", "smoothing", "vbn",
         "cgan", "infogan", "began", "vae", "pix2pix", "stackgan", "cyclegan"]
DATA = {"cgan": "data-classes", "infogan": "data-classes", "cyclegan": "data-domains"}
SAMPLE_FLAGS = {"data": [], "data-classes": ["--classes", "3"], "data-domains": ["--domains", "2"]}


def methods_of(preset):
    have = {f[:-5] for f in os.listdir(os.path.join(CONFIGS, preset)) if f.endswith(".toml")}
    return [m for m in ORDER if m in have] + sorted(have - set(ORDER))


def sample(preset, out, name):
    path = os.path.join(out, name)
    if os.path.exists(os.path.join(path, "manifest.json")):
        return
    cmd = [FSRGAN, "sample", "--preset", preset, "--n", "50000", "--seed", "1", "--out", path,
           "--force"] + SAMPLE_FLAGS[name]
    subprocess.run(cmd, check=True)


def run_one(job):
    method, seed, preset, out, threads = job
    d = os.path.join(out, f"{method}-s{seed}")
    os.makedirs(d, exist_ok=True)
    text = open(os.path.join(CONFIGS, preset, f"{method}.toml")).read()
    text = re.sub(r"(?m)^seed = .*$", f"seed = {seed}", text)
    cfg = os.path.join(d, "run.toml")
    open(cfg, "w").write(text)
    data = os.path.join(out, DATA.get(method, "data"))
    cmd = [FSRGAN, "train", "--config", cfg, "--data", data, "--out", os.path.join(d, "run"),
           "--force", "--threads", str(threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    with open(os.path.join(d, "log.txt"), "w") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    print(f"{method} seed {seed}: exit {rc}", flush=True)
    return rc


def cmd_run(a):
    os.makedirs(a.out, exist_ok=True)
    methods = a.methods or methods_of(a.preset)
    for name in sorted({DATA.get(m, "data") for m in methods}):
        sample(a.preset, a.out, name)
    jobs = [(m, s, a.preset, a.out, a.threads) for s in a.seeds for m in methods]
    with ThreadPoolExecutor(a.parallel) as pool:
        rcs = list(pool.map(run_one, jobs))
    bad = sum(1 for r in rcs if r != 0)
    print(f"{len(jobs) - bad}/{len(jobs)} runs finished")
    return 1 if bad else 0


def final(run):
    rows = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl")) if l.strip()]
    fin = [r for r in rows if r["stage"] == "final"]
    first = next((r for r in rows if r["stage_step"] == 0), None)
    if not fin:
        return None, first, rows
    # The final row has the scores; the step values (k_t, the ELBO's terms)
    # are those of the last training row.
    last = [r for r in rows if r["stage"] != "final"]
    values = dict(last[-1]["values"]) if last else {}
    values.update(fin[-1]["values"])
    return dict(fin[-1], values=values), first, rows


def collect(outs):
    runs = {}
    for out in outs:
        for d in sorted(os.listdir(out)):
            m = re.fullmatch(r"(.+)-s(\d+)", d)
            run = os.path.join(out, d, "run")
            if not m or not os.path.exists(os.path.join(run, "metrics.jsonl")):
                continue
            fin, first, rows = final(run)
            if fin is None:
                continue
            # Runs trained before the pair SWD joined the final row: its
            # values from `cargo run --release --example family_pairs -- RUN`.
            pj = os.path.join(run, "pairs.json")
            if os.path.exists(pj):
                for k, x in json.load(open(pj)).items():
                    fin["values"].setdefault(k, x)
            cfg = open(os.path.join(run, "config.toml")).read()
            preset = json.load(open(os.path.join(run, "manifest.json"))).get("preset") if os.path.exists(os.path.join(run, "manifest.json")) else None
            levels = max(int(k[3:]) for k in fin["values"] if re.fullmatch(r"swd\d+", k))
            steps = max(r["step"] for r in rows)
            runs.setdefault((out, m.group(1)), []).append(
                {"seed": int(m.group(2)), "v": fin["values"], "first": first["values"] if first else {},
                 "secs": fin["secs"], "steps": steps, "levels": levels})
    return runs


def stat(xs):
    xs = [x for x in xs if x is not None and x == x]
    if not xs:
        return None
    return (sum(xs) / len(xs), min(xs), max(xs))


def fmt(s, digits=2):
    if s is None:
        return "–"
    mean, lo, hi = s
    f = f"{{:.{digits}f}}"
    if hi - lo < 10 ** -digits:
        return f.format(mean)
    return f"{f.format(mean)} ({f.format(lo)}–{f.format(hi)})"


def own_score(method, vs, levels):
    g = lambda k: stat([v.get(k) for v in vs])
    top = levels
    if method in ("pix2pix", "stackgan"):
        return "SR err " + ", ".join(f"L{l}: {fmt(g(f'sr{l}'), 3)}" for l in range(2, top + 1))
    if method == "cyclegan":
        return "transl. err " + ", ".join(
            f"L{l}: {fmt(g(f'trans{l}'), 3)} (identity {fmt(g(f'trans{l}_identity'), 2)})" for l in range(1, top + 1)) + \
            "; cycle " + ", ".join(f"{fmt(g(f'cycle{l}'), 3)}" for l in range(1, top + 1))
    if method == "cgan":
        cov = lambda l: stat([sum(v.get(f"class{k}_cov{l}", 0.0) for k in range(3)) / 3 for v in vs])
        return "per-class SWD/floor " + ", ".join(f"L{l}: {fmt(g(f'class_swd{l}'), 1)}" for l in range(1, top + 1)) + \
            "; per-class coverage " + ", ".join(f"L{l}: {fmt(cov(l), 2)}" for l in range(1, top + 1))
    if method == "began":
        return f"k_t {fmt(g('k_t'), 3)}, M_global {fmt(g('convergence'), 3)}"
    if method == "vae":
        return f"-ELBO terms: NLL {fmt(g('recon'), 0)}, KL {fmt(g('kl'), 1)}"
    if method == "infogan":
        return f"ARI {fmt(g('ari'), 2)} (chance 0), purity {fmt(g('purity'), 2)} (chance {fmt(g('purity_chance'), 2)})"
    return ""


def cmd_table(a):
    runs = collect(a.outs)
    out = {}
    lines = []
    by_out = {}
    for (o, method), rs in runs.items():
        by_out.setdefault(o, {})[method] = rs
    for o, methods in by_out.items():
        levels = max(r["levels"] for rs in methods.values() for r in rs)
        head = ["method", "seeds", "steps", "secs"]
        head += [f"SWD{l}/floor" for l in range(1, levels + 1)]
        head += [f"pair SWD{l}/floor" for l in range(2, levels + 1)]
        head += [f"finest band{l}/floor" for l in range(1, levels + 1)]
        head += [f"cov{l}" for l in range(1, levels + 1)]
        head += [f"active ch. {l}" for l in range(1, levels + 1)]
        head += [f"MS-SSIM{l} (real)" for l in range(1, levels + 1)]
        head += ["own score"]
        lines.append(f"### {o}\n")
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        order = [m for m in ORDER if m in methods] + sorted(set(methods) - set(ORDER))
        for method in order:
            rs = sorted(methods[method], key=lambda r: r["seed"])
            vs = [r["v"] for r in rs]
            g = lambda k: stat([v.get(k) for v in vs])
            ratio = lambda l: stat([v[f"swd{l}"] / v[f"swd{l}_floor"] for v in vs if f"swd{l}" in v])
            first = lambda l: stat([r["first"][f"swd{l}"] / r["first"][f"swd{l}_floor"] for r in rs if f"swd{l}" in r["first"]])
            row = [method, str(len(rs)), fmt(stat([r["steps"] for r in rs]), 0), fmt(stat([r["secs"] for r in rs]), 0)]
            row += [f"{fmt(ratio(l), 1)} (from {fmt(first(l), 0)})" for l in range(1, levels + 1)]
            pair = lambda l: stat([v[f"pair_swd{l}"] / v[f"pair_swd{l}_floor"] for v in vs if f"pair_swd{l}" in v])
            row += [fmt(pair(l), 1) for l in range(2, levels + 1)]
            band = lambda l: stat([v[f"pyr{l}_0"] / v[f"pyr{l}_0_floor"] for v in vs if f"pyr{l}_0" in v])
            row += [fmt(band(l), 1) for l in range(1, levels + 1)]
            row += [fmt(g(f"cov{l}"), 2) for l in range(1, levels + 1)]
            row += [fmt(g(f"hidden{l}"), 1) for l in range(1, levels + 1)]
            row += [f"{fmt(g(f'msssim{l}'), 2)} ({fmt(g(f'msssim{l}_real'), 2)})" for l in range(1, levels + 1)]
            row += [own_score(method, vs, levels)]
            lines.append("| " + " | ".join(row) + " |")
            out.setdefault(o, {})[method] = {
                "swd_over_floor": [ratio(l)[0] if ratio(l) else None for l in range(1, levels + 1)],
                "runs": [{"seed": r["seed"], "secs": r["secs"], "steps": r["steps"], "values": r["v"]} for r in rs],
            }
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if a.markdown:
        open(a.markdown, "w").write(text + "\n")
    if a.json:
        json.dump(out, open(a.json, "w"), indent=1, sort_keys=True)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("preset", choices=["tiny", "small", "paper"])
    r.add_argument("out")
    r.add_argument("--methods", nargs="*")
    r.add_argument("--seeds", nargs="*", type=int, default=[1, 2, 3])
    r.add_argument("--parallel", type=int, default=2)
    r.add_argument("--threads", type=int, default=1)
    t = sub.add_parser("table")
    t.add_argument("outs", nargs="+")
    t.add_argument("--markdown")
    t.add_argument("--json")
    a = p.parse_args()
    return cmd_run(a) if a.cmd == "run" else cmd_table(a)


if __name__ == "__main__":
    sys.exit(main())
