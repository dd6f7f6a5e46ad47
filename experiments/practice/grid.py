#!/usr/bin/env python3
"""Practice-track experiments E3-E5: every loss x mode on a preset, scored
against the truth, and the table of the results.

    experiments/practice/grid.py run PRESET OUT [--losses ..] [--modes ..] [--seeds 1 2 3]
                                    [--lower learned random] [--parallel 2] [--threads 1]
    experiments/practice/grid.py table OUT [--json FILE] [--markdown FILE]
    experiments/practice/grid.py seeds OUT [--markdown FILE]

`run` samples the preset's truth (seed 1) into OUT/data (50,000 samples, the
finite training set) unless it exists, writes one config per run into
OUT/<loss>-<mode>[-<lower>]-s<seed>/run.toml (the base
experiments/practice/configs/PRESET.toml with the loss's settings below, the
mode, the seed; layer-wise and progressive runs split the base's steps over
their phases so every mode takes the same number of generator steps), and
runs `fsrgan train` on each, PARALLEL at a time with THREADS threads each.
`table` reads every run's final row; `seeds` groups the runs of one
loss and mode over their seeds (those with at least two) and prints the
mean and range of each level's SWD/floor, the worst level's, the lowest
coverage and the MS-SSIM. Per-loss settings follow the papers
(seeds 002/003): DCGAN's Adam(2e-4, 0.5) for minimax, non-saturating, least
squares and hinge; WGAN: n_d = 5, clip 0.01, Adam(5e-5, beta1 = 0) (RMSprop-
like, the paper's advice against momentum); WGAN-GP: n_d = 5, Adam(1e-4, 0,
0.9), lambda = 10.
"""
import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FSRGAN = os.environ.get("FSRGAN", os.path.join(ROOT, "target", "release", "fsrgan"))
LOSSES = ["minimax", "non_saturating", "wgan", "wgan_gp", "lsgan", "hinge"]
MODES = ["end_to_end", "layerwise", "progressive"]
PER_LOSS = {
    "minimax": {},
    "non_saturating": {},
    "lsgan": {},
    "hinge": {},
    "wgan": {"n_d": 5, "lr_g": 5e-5, "lr_d": 5e-5, "beta1": 0.0, "clip": 0.01},
    "wgan_gp": {"n_d": 5, "lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.0, "beta2": 0.9, "gp_weight": 10.0},
}
LEVELS = {"tiny": 2, "small": 3, "paper": 4}


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    return repr(v)


def config_text(preset, loss, mode, seed, lower):
    base = open(os.path.join(ROOT, "experiments", "practice", "configs", f"{preset}.toml")).read()
    lines, section = [], None
    over = dict(PER_LOSS[loss], loss=loss, mode=mode, seed=seed)
    steps = fade = None
    for line in base.splitlines():
        s = line.strip()
        if s.startswith("["):
            section = s
        key = s.split("=")[0].strip() if "=" in s and not s.startswith("#") else None
        if section == "[practice]" and key == "steps":
            steps = int(s.split("=")[1].split("#")[0])
            continue
        if section == "[practice]" and key == "fade_steps":
            fade = int(s.split("=")[1].split("#")[0])
            continue
        if section == "[practice]" and key in over:
            continue
        lines.append(line)
    phases = 1 if mode == "end_to_end" else LEVELS[preset]
    over["steps"] = steps // phases
    over["fade_steps"] = min(fade, over["steps"])
    top = []
    if lower != "learned":
        top.append(f'lower = "{lower}"')
    out, placed = [], False
    for line in lines:
        out.append(line)
        if line.strip() == "[practice]":
            out += [f"{k} = {toml_value(v)}" for k, v in over.items()]
            placed = True
    assert placed, "the base config has no [practice] table"
    # top-level keys must come before the first table
    first_table = next(i for i, l in enumerate(out) if l.strip().startswith("["))
    out[first_table:first_table] = top
    return "\n".join(out) + "\n"


def run_one(job):
    name, cfg_path, data, out, threads = job
    log = open(os.path.join(out, "train.log"), "w")
    rc = subprocess.call(
        [FSRGAN, "train", "--config", cfg_path, "--data", data, "--out", os.path.join(out, "run"),
         "--force", "--threads", str(threads), "--device", "cpu"],
        stdout=log, stderr=subprocess.STDOUT)
    print(f"{name}: exit {rc}", flush=True)
    return rc


def cmd_run(a):
    os.makedirs(a.out, exist_ok=True)
    data = os.path.join(a.out, "data")
    if not os.path.exists(os.path.join(data, "manifest.json")):
        subprocess.check_call([FSRGAN, "sample", "--preset", a.preset, "--n", "50000", "--seed", "1",
                               "--out", data])
    jobs = []
    for seed in a.seeds:
        for mode in a.modes:
            for loss in a.losses:
                for lower in a.lower:
                    if lower != "learned" and mode != "layerwise":
                        continue
                    name = f"{loss}-{mode}" + ("" if lower == "learned" else f"-{lower}") + f"-s{seed}"
                    d = os.path.join(a.out, name)
                    if os.path.exists(os.path.join(d, "run", "score.json")) and not a.force:
                        continue
                    os.makedirs(d, exist_ok=True)
                    p = os.path.join(d, "run.toml")
                    open(p, "w").write(config_text(a.preset, loss, mode, seed, lower))
                    jobs.append((name, p, data, d, a.threads))
    print(f"{len(jobs)} runs, {a.parallel} at a time", flush=True)
    with ThreadPoolExecutor(a.parallel) as ex:
        rcs = list(ex.map(run_one, jobs))
    return 1 if any(rcs) else 0


def final_row(run_dir):
    rows = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    first = next(r for r in rows if r["stage"] != "final")
    fin = [r for r in rows if r["stage"] == "final"][-1]
    return first, fin, rows


def cmd_table(a):
    out = []
    for name in sorted(os.listdir(a.out)):
        run = os.path.join(a.out, name, "run")
        if not os.path.exists(os.path.join(run, "score.json")):
            continue
        first, fin, rows = final_row(run)
        v = fin["values"]
        levels = max(int(k[3:]) for k in v if k.startswith("swd") and k[3:].isdigit())
        r = {"run": name, "steps": fin["step"], "secs": round(fin["secs"], 1)}
        for l in range(1, levels + 1):
            ratio = lambda k: v[k] / v[k + "_floor"] if v.get(k + "_floor") else float("nan")
            r[f"swd{l}/floor"] = ratio(f"swd{l}")
            r[f"swd{l}/floor_start"] = first["values"][f"swd{l}"] / first["values"][f"swd{l}_floor"]
            r[f"pyr{l}/floor"] = ratio(f"pyr{l}_0")
            r[f"gap{l}_c2/floor"] = v[f"gap{l}_c2"] / v[f"floor{l}_c2"]
            r[f"cov{l}"] = v[f"cov{l}"]
            r[f"pair_cov{l}"] = v[f"pair_cov{l}"]
            r[f"msssim{l}"] = v[f"msssim{l}"]
            r[f"msssim{l}_real"] = v[f"msssim{l}_real"]
            r[f"hidden{l}"] = v.get(f"hidden{l}", float("nan"))
            if f"align{l}_mean" in v:
                r[f"align{l}_mean"] = v[f"align{l}_mean"]
                r[f"align{l}_mean_start"] = first["values"].get(f"align{l}_mean", float("nan"))
        r["worst_swd/floor"] = max(r[f"swd{l}/floor"] for l in range(1, levels + 1))
        r["min_cov"] = min(r[f"cov{l}"] for l in range(1, levels + 1))
        out.append(r)
    if a.json:
        json.dump(out, open(a.json, "w"), indent=1)
    lines = []
    if out:
        levels = max(int(k[3:].split("/")[0]) for k in out[0] if k.startswith("swd") and "/" in k and "start" not in k)
        head = ["run", "steps", "secs"] + [f"SWD{l}/floor" for l in range(1, levels + 1)] \
            + [f"pyr{l}/floor" for l in range(1, levels + 1)] + [f"cov{l} (pairs)" for l in range(1, levels + 1)] \
            + [f"MS-SSIM{l} (real)" for l in range(1, levels + 1)] + [f"active ch. {l}" for l in range(1, levels + 1)]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for r in out:
            cells = [r["run"], str(r["steps"]), f'{r["secs"]:.0f}']
            cells += [f'{r[f"swd{l}/floor"]:.1f} (from {r[f"swd{l}/floor_start"]:.0f})' for l in range(1, levels + 1)]
            cells += [f'{r[f"pyr{l}/floor"]:.1f}' for l in range(1, levels + 1)]
            cells += [f'{r[f"cov{l}"]:.2f} ({r[f"pair_cov{l}"]:.2f})' for l in range(1, levels + 1)]
            cells += [f'{r[f"msssim{l}"]:.2f} ({r[f"msssim{l}_real"]:.2f})' for l in range(1, levels + 1)]
            cells += [f'{r[f"hidden{l}"]:.1f}' for l in range(1, levels + 1)]
            lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    if a.markdown:
        open(a.markdown, "w").write(text)
    sys.stdout.write(text)
    return 0


def cmd_seeds(a):
    import re
    groups = {}
    for name in sorted(os.listdir(a.out)):
        m = re.fullmatch(r"(.+)-s(\d+)", name)
        run = os.path.join(a.out, name, "run")
        if not m or not os.path.exists(os.path.join(run, "score.json")):
            continue
        _, fin, _ = final_row(run)
        groups.setdefault(m.group(1), []).append((int(m.group(2)), fin["values"], fin["step"]))
    lines = []
    for key, runs in sorted(groups.items()):
        if len(runs) < 2:
            continue
        levels = max(int(k[3:]) for k in runs[0][1] if k.startswith("swd") and k[3:].isdigit())
        def stat(xs, d=1):
            return f"{sum(xs) / len(xs):.{d}f} ({min(xs):.{d}f}–{max(xs):.{d}f})"
        ratio = lambda v, l: v[f"swd{l}"] / v[f"swd{l}_floor"]
        cells = [key, ", ".join(str(s) for s, _, _ in sorted(runs)), stat([st for _, _, st in runs], 0)]
        cells += [stat([ratio(v, l) for _, v, _ in runs]) for l in range(1, levels + 1)]
        cells.append(stat([max(ratio(v, l) for l in range(1, levels + 1)) for _, v, _ in runs]))
        cells.append(f"{min(min(v[f'cov{l}'] for l in range(1, levels + 1)) for _, v, _ in runs):.2f}")
        cells.append(" / ".join(f"{sum(v[f'msssim{l}'] for _, v, _ in runs) / len(runs):.2f} ({runs[0][1][f'msssim{l}_real']:.2f})" for l in range(1, levels + 1)))
        if not lines:
            head = ["loss-mode", "seeds", "steps"] + [f"SWD{l}/floor" for l in range(1, levels + 1)] + ["worst level", "lowest cov", "MS-SSIM by level (real)"]
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    if a.markdown:
        open(a.markdown, "w").write(text)
    sys.stdout.write(text)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("preset", choices=sorted(LEVELS))
    r.add_argument("out")
    r.add_argument("--losses", nargs="+", default=LOSSES, choices=LOSSES)
    r.add_argument("--modes", nargs="+", default=MODES, choices=MODES)
    r.add_argument("--seeds", nargs="+", type=int, default=[1])
    r.add_argument("--lower", nargs="+", default=["learned"], choices=["learned", "random"])
    r.add_argument("--parallel", type=int, default=2)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--force", action="store_true", help="rerun runs that already finished")
    t = sub.add_parser("table")
    t.add_argument("out")
    t.add_argument("--json")
    t.add_argument("--markdown")
    sd = sub.add_parser("seeds", help="mean and range over seeds of each loss and mode")
    sd.add_argument("out")
    sd.add_argument("--markdown")
    a = p.parse_args()
    sys.exit({"run": cmd_run, "table": cmd_table, "seeds": cmd_seeds}[a.cmd](a))


if __name__ == "__main__":
    main()
