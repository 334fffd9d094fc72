"""C3 measured: coarse to fine against the same search without the narrowing.

Runs `experiments/digits_stages.yaml` (a quasi-random coarse stage over wide ranges,
then a Bayesian fine stage over ranges narrowed around the coarse stage's top trials,
both at the file's `training.epochs`), then a control: the fine stage's own tuner and
training settings over the coarse stage's wide ranges, with the same seed. So the
fine stage and the control differ only in the narrowing; the coarse stage's score is
at the same epochs too. Prints each stage's trials, epochs, best score and the ranges
the narrowing changed.

Run: python benchmarks/stages.py [--save]    # --save: benchmarks/results/stages.json
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

EXPERIMENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                          "experiments", "digits_stages.yaml")


def range_text(spec):
    """`[1e-05, 0.08] log`, `{128, 256}` or the fixed value of one knob's spec."""
    if "fixed" in spec:
        return str(spec["fixed"])
    if "values" in spec:
        return "{" + ", ".join(map(str, spec["values"])) + "}"
    return f"[{spec['min']:.2g}, {spec['max']:.2g}]" + (
        " log" if spec.get("sampling") == "log" else "")


def _row(name, config, result, seconds):
    return {"name": name, "algorithm": config.tuner.algorithm,
            "trials": len(result.trials), "epochs": config.training.epochs,
            "completed": sum(row["status"] == "COMPLETED" for row in result.trials),
            "best": result.best_score, "best_trial": result.best_trial_id,
            "seconds": seconds,
            "space": {knob: range_text(spec) for knob, spec in config.model.space.items()},
            "table": [{key: row.get(key) for key in ("trial_id", "status", "objective",
                                                     *config.model.space)}
                      for row in result.trials]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", action="store_true",
                        help="write benchmarks/results/stages.json")
    args = parser.parse_args(argv)
    from kt_toolkit.config import load_config
    from kt_toolkit.experiment import run_experiment

    directory = tempfile.mkdtemp(prefix="kt-stages-")
    config = load_config(EXPERIMENT, [f"output.directory={directory}",
                                      "output.report=false"])
    started = time.perf_counter()
    result = run_experiment(config, overwrite=True)
    seconds = time.perf_counter() - started
    rows = [_row(stage.name, stage.config, stage.result, None) for stage in result.stages]
    fine = config.stages[-1]
    overrides = ["stages=[]", f"output.directory={directory}", "output.run_name=control",
                 "output.report=false"]
    overrides += [f"{part}.{key}={value}" for part in ("tuner", "training")
                  for key, value in (fine.get(part) or {}).items()]
    control = load_config(EXPERIMENT, overrides)
    control_started = time.perf_counter()
    done = run_experiment(control, overwrite=True)
    rows.append(_row("control (fine without narrowing)", control, done,
                     time.perf_counter() - control_started))
    for row in rows:
        print(f"{row['name']}: {row['algorithm']}, {row['trials']} trials, {row['epochs']} "
              f"epochs, best {row['best']} (trial {row['best_trial']})")
    wide, narrowed = rows[0]["space"], rows[1]["space"]
    for knob in wide:
        if wide[knob] != narrowed[knob]:
            print(f"  {knob}: {wide[knob]} -> {narrowed[knob]}")
    if args.save:
        import _record

        print(_record.save("stages", {"stages_seconds": seconds, "top_k":
                                      fine.get("narrow", {}).get("top_k"), "rows": rows},
                           seeds={"experiment.seed": config.experiment.seed},
                           command="python benchmarks/stages.py --save",
                           conditions="one process; 2 CPU cores shared with other "
                                      "engineers' tests (the seconds are rough)"))


if __name__ == "__main__":
    main()
