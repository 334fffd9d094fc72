"""The claims' numbers: collected from their ablations, rendered into RESULTS.md.

    python experiments/claims/render.py collect e13_mlp   # after its `kt-toolkit ablate`
    python experiments/claims/render.py                   # rewrite RESULTS.md's tables
    python experiments/claims/render.py --check           # exit 1 when one is stale

Each claim is an experiment file here whose header comment holds the exact
`kt-toolkit ablate` command(s). `collect NAME` reads that ablation's run
directory (`<run>/ablations/<knob>/`: results.csv and every run's history) and
writes `results/NAME.json` (the rows, each run's validation curves, the command,
seeds, date, machine and commit) and `results/NAME.png` (the ablation's figure).
The tables of RESULTS.md between `<!-- claim NAME: begin -->` and `<!-- claim
NAME: end -->` are rendered from those files only (JSON in, Markdown out, no
Keras); `tests/test_claims.py` fails when they drift. D1 is not an ablation:
`d1_proxy.py` writes `results/d1_proxy.json` itself.
"""

import argparse
import json
import math
import os
import re
import shutil
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RESULTS_DIR = os.path.join(HERE, "results")
RESULTS_MD = os.path.join(HERE, "RESULTS.md")
sys.path.insert(0, os.path.join(REPO, "benchmarks"))

import _record  # noqa: E402  (machine, commit: what the benchmarks record too)

# NAME: (experiment file, knob, extra metrics shown at the best epoch, epochs-to threshold)
CLAIMS = {
    "e13_mlp": ("e13_init_mlp.yaml", "kernel_initializer", (), None),
    "e10_dropout": ("e10_e11_regularization.yaml", "dropout", ("val_crossentropy",), None),
    "e11_l2": ("e10_e11_regularization.yaml", "l2", ("val_crossentropy",), None),
    "b5_learning_rate": ("b5_e2_learning_rate.yaml", "learning_rate", (), None),
    "e8_batch_size": ("e8_batch_size.yaml", "batch_size", (), None),
    "e5_epsilon": ("e5_adam_epsilon.yaml", "epsilon", ("val_accuracy",), None),
    "e16_cell": ("e16_gated_rnn.yaml", "cell", ("val_accuracy",), None),
    "e17_class_balance": ("e17_imbalance.yaml", "class_balance", ("val_recall", "val_auc"),
                          None),
    "e13_cnn": ("e13_init_cnn.yaml", "kernel_initializer", (), None),
    "e13_embedding": ("e13_embedding.yaml", "embedding_initializer", ("val_accuracy",), 0.85),
    "e16_residual": ("e16_residual_cnn.yaml", "residual", (), None),
    "e16_batch_norm": ("e16_residual_cnn.yaml", "batch_norm", (), None),
}
MARKER = re.compile(r"<!-- claim ([\w.-]+): begin -->\n(.*?)<!-- claim \1: end -->",
                    re.DOTALL)


def command(name):
    """The claim's `kt-toolkit ablate` command, as its experiment file's header gives it."""
    yaml_file, knob = CLAIMS[name][:2]
    with open(os.path.join(HERE, yaml_file), encoding="utf-8") as handle:
        for line in handle:
            text = line.lstrip("#").strip()
            if text.startswith("nice -n 5 kt-toolkit ablate") and f"--knob {knob} " in text:
                return text
    raise ValueError(f"{yaml_file} has no `kt-toolkit ablate ... --knob {knob}` line")


def results_path(name, ext="json"):
    return os.path.join(RESULTS_DIR, f"{name}.{ext}")


def load(name):
    with open(results_path(name), encoding="utf-8") as handle:
        return json.load(handle)


# -- collect: an ablation's files → results/NAME.json ---------------------------------

def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def collect(name, *, overrides=(), run_dir=None):
    """Writes `results/NAME.json` and `results/NAME.png` from the claim's ablation.

    Args:
        name: String, a key of `CLAIMS`.
        overrides: `--set` texts the ablation ran with (the run directory follows them).
        run_dir: String, the run directory; defaults to the experiment's.
    """
    from kt_toolkit._io import read_csv
    from kt_toolkit.config import run_directory
    from kt_toolkit.experiment import load_experiment
    from kt_toolkit.rundir.ablations import AblationStore

    yaml_file, knob, extra, _ = CLAIMS[name]
    if run_dir is None:
        run_dir = run_directory(load_experiment(os.path.join(HERE, yaml_file), list(overrides)))
    store = AblationStore(run_dir, knob)
    record = store.record()
    metrics = (record["objective"],) + tuple(extra)
    rows = []
    for row in store.results():
        history = read_csv(store.history_path(row["value"], int(row["seed"])))
        curves = {metric: [round(_number(epoch.get(metric)), 6) for epoch in history]
                  for metric in metrics}
        rows.append({**row, "curves": curves})
    with open(store.results_path, encoding="utf-8") as handle:
        csv_text = handle.read()
    data = {"name": name, "command": command(name), "experiment": f"experiments/claims/"
            f"{yaml_file}", "knob": knob, "values": record["values"],
            "seeds": record["seeds"], "objective": record["objective"],
            "direction": record["direction"], "scale": record.get("scale"),
            "base": record.get("base"), "epochs": record["settings"]["epochs"],
            "rows": rows, "results_csv": csv_text}
    os.makedirs(RESULTS_DIR, exist_ok=True)
    kept, _record.RESULTS = _record.RESULTS, RESULTS_DIR  # benchmarks' record fields
    try:
        path = _record.save(name, data, seeds=record["seeds"], command=command(name),
                            conditions="2 shared CPU cores, other engineers' jobs running "
                                       "(seconds are comparable only inside one table)")
    finally:
        _record.RESULTS = kept
    figure = os.path.join(store.path, "figure.png")
    if os.path.isfile(figure):
        shutil.copyfile(figure, results_path(name, "png"))
    return path


# -- render: results/NAME.json → Markdown --------------------------------------------

def _interval(numbers, digits=3):
    from kt_toolkit.analysis.ablation import t_interval

    numbers = [n for n in numbers if math.isfinite(n)]
    if not numbers:
        return "n/a"
    mean, half = t_interval(numbers)
    return f"{mean:.{digits}f}" + ("" if math.isnan(half) else f" ± {half:.{digits}f}")


def _best_index(curve, direction):
    scored = [(v, i) for i, v in enumerate(curve) if math.isfinite(v)]
    if not scored:
        return None
    sign = 1.0 if direction == "max" else -1.0
    return max(scored, key=lambda pair: (sign * pair[0], -pair[1]))[1]


def epochs_to(curve, threshold, direction="max"):
    """The first epoch (1-based) whose score reaches `threshold`; `None` if none does."""
    for index, value in enumerate(curve):
        if math.isfinite(value) and (value >= threshold if direction == "max"
                                     else value <= threshold):
            return index + 1
    return None


def table(data):
    """The claim's Markdown table: the ablation's statistics plus its extra columns."""
    from kt_toolkit.analysis.ablation import summarize

    name = data["name"]
    extra, threshold = CLAIMS[name][2], CLAIMS[name][3]
    objective, direction = data["objective"], data["direction"]
    rows = [{**row, "score": _number(row["score"]), "best_epoch": _number(row["best_epoch"]),
             "seconds": _number(row["seconds"])} for row in data["rows"]]
    summaries = summarize(rows, data["values"], seeds=data["seeds"], objective=objective,
                          direction=direction)
    headers = ["value", "runs", "failed", f"{objective} mean ± 95 %", "vs best", "p",
               "verdict", "best epoch", "s / epoch"] + [f"{m} at best" for m in extra]
    if threshold is not None:
        headers.append(f"epochs to {objective} ≥ {threshold}")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for summary in summaries:
        own = [row for row in rows if row["value"] == summary.value]
        cells = _summary_cells(summary)
        per_epoch = [row["seconds"] / int(row["epochs"]) for row in own if int(row["epochs"])]
        cells.append(_interval(per_epoch, 2))
        for metric in extra:
            at_best = []
            for row in own:
                index = _best_index(row["curves"][objective], direction)
                if index is not None and row["status"] == "completed":
                    at_best.append(row["curves"][metric][index])
            cells.append(_interval(at_best))
        if threshold is not None:
            reached = [epochs_to(row["curves"][objective], threshold, direction)
                       for row in own]
            hits = [float(epoch) for epoch in reached if epoch is not None]
            cells.append(f"{_interval(hits, 1)} ({len(hits)} of {len(own)} reached)")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _summary_cells(summary):
    from kt_toolkit.analysis.ablation import _num, _p_cell

    interval = "n/a" if not summary.scores else _num(summary.mean) + (
        "" if math.isnan(summary.half_width) else f" ± {_num(summary.half_width)}")
    best = summary.verdict == "best"
    versus = "" if best else (f"{_num(summary.difference, signed=True)} ± "
                              f"{_num(summary.difference_half_width)}")
    return [summary.value, str(summary.runs), str(summary.failures), interval, versus,
            "" if best else _p_cell(summary.p_value), summary.verdict,
            "" if math.isnan(summary.best_epoch) else f"{summary.best_epoch:.1f}"]


def _machine(data):
    machine = data["machine"]
    packages = machine.get("packages", {})
    stack = ", ".join(f"{k} {packages[k]}" for k in ("tensorflow", "keras") if k in packages)
    return f"{machine.get('cpus')} shared CPU cores ({stack}, {machine.get('backend')})"


def _statuses(data):
    other = [row for row in data["rows"] if row["status"] != "completed"]
    if not other:
        return ""
    parts = []
    for value in dict.fromkeys(row["value"] for row in other):
        own = [row for row in other if row["value"] == value]
        statuses = ", ".join(f"{sum(r['status'] == s for r in own)} {s}"
                             for s in dict.fromkeys(r["status"] for r in own))
        runs = sum(row["value"] == value for row in data["rows"])
        parts.append(f"{value}: {statuses} of {runs} (seed {own[0]['seed']}: "
                     f"{own[0]['reason'] or 'no reason given'})")
    return "\n\nRuns not completed: " + "; ".join(parts) + "."


def render(name):
    """The Markdown between the claim's markers in RESULTS.md."""
    if name == "d1_proxy":
        return render_d1(load(name))
    record = load(name)
    data = {**record["data"], **{k: v for k, v in record.items() if k != "data"}}
    seconds = sum(_number(row["seconds"]) for row in data["rows"])
    return (f"`{data['command']}`\n\nSeeds {', '.join(str(s) for s in data['seeds'])}; "
            f"{data['epochs']} epochs; {len(data['rows'])} runs, {seconds / 60:.1f} min of "
            f"training in all; measured {data['date']} on {_machine(data)}, commit "
            f"{data['commit']}. Results: `results/{name}.json`, figure `results/{name}.png`."
            f"\n\n{table(data)}{_statuses(data)}\n")


def render_d1(data):
    lines = [f"`{data['command']}`", "",
             f"Seeds {', '.join(str(s) for s in data['seeds'])}; measured {data['date']} on "
             f"{_machine(data)}, commit {data['commit']}. Results: `results/d1_proxy.json`.",
             "", f"{data['data']['trials']} random-search trials of {data['data']['epochs']} "
             f"epochs per search; its top {data['data']['top_k']} retrained on all "
             f"{data['data']['training_samples']} training digits.", "",
             "| subsample | ρ per seed | median ρ | seconds per search and check |",
             "|---|---|---|---|"]
    sizes = dict.fromkeys(run["subsample"] for run in data["data"]["runs"])
    for size in sizes:
        runs = [run for run in data["data"]["runs"] if run["subsample"] == size]
        rhos = [run["rho"] for run in runs if run["rho"] is not None]
        per_seed = ", ".join("n/a" if run["rho"] is None else f"{run['rho']:.2f}"
                             for run in runs)
        median = f"{statistics.median(rhos):.2f}" if rhos else "n/a"
        seconds = ", ".join(f"{run['seconds']:.0f}" for run in runs)
        lines.append(f"| {size} | {per_seed} | {median} | {seconds} |")
    return "\n".join(lines) + "\n"


def sections_in(text):
    return {match.group(1): match.group(2) for match in MARKER.finditer(text)}


def update(text):
    """RESULTS.md's text with every section whose results file exists rendered again."""
    def again(match):
        name = match.group(1)
        if not os.path.isfile(results_path(name)):
            return match.group(0)
        return f"<!-- claim {name}: begin -->\n{render(name)}<!-- claim {name}: end -->"
    return MARKER.sub(again, text)


def stale_sections(text):
    """Names of sections whose results file exists and renders otherwise."""
    return [name for name, body in sections_in(text).items()
            if os.path.isfile(results_path(name)) and render(name) != body]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", nargs="?", choices=("render", "collect"), default="render")
    parser.add_argument("names", nargs="*", help="claims to collect (collect)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a table is stale")
    args = parser.parse_args(argv)
    if args.action == "collect":
        for name in args.names:
            print(collect(name))
        return 0
    with open(RESULTS_MD, encoding="utf-8") as handle:
        text = handle.read()
    if args.check:
        stale = stale_sections(text)
        for name in stale:
            print(f"stale: {name}")
        return 1 if stale else 0
    fresh = update(text)
    if fresh != text:
        with open(RESULTS_MD, "w", encoding="utf-8") as handle:
            handle.write(fresh)
    print(f"{len(sections_in(fresh))} sections in {RESULTS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
