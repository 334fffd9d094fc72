"""--proxy-check: the proxy search's best trials retrained on the full data (D1, D2)."""

import math
import os

import pytest
from scipy import stats

from kt_toolkit._io import read_csv
from kt_toolkit.proxy import DOUBT_RHO, TRUST_RHO, _spearman, _verdict, proxy_check
from kt_toolkit.rundir import RunDirectory


def _ranks(values):
    """1-based ranks; tied values share their average rank (as Spearman's ρ ranks)."""
    order = sorted(values)
    return [order.index(v) + 1 + (order.count(v) - 1) / 2 for v in values]


def _rank_correlation(xs, ys):
    """Spearman's ρ: Pearson's correlation of the ranks, computed here from scratch."""
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))


def _assert_rho_of_the_rows(checked):
    """ρ and its p-value are those of exactly the rows' proxy and full scores."""
    proxies, fulls = [r["proxy"] for r in checked.rows], [r["full"] for r in checked.rows]
    assert None not in fulls and len(proxies) >= 3
    assert len(set(proxies)) > 1 and len(set(fulls)) > 1  # ρ is defined for this search
    rho = _rank_correlation(proxies, fulls)
    assert checked.rho == pytest.approx(rho, abs=1e-9)
    assert checked.p_value == pytest.approx(stats.spearmanr(proxies, fulls).pvalue, abs=1e-9)
    return rho


def test_a_proxy_search_is_checked_on_the_full_data(make_config):
    from kt_toolkit.experiment import run_experiment

    config = make_config(data={"subsample": 150}, tuner={"max_trials": 3},
                         training={"epochs": 2})
    result = run_experiment(config)
    checked = proxy_check(config, result.run_dir, top_k=3)
    best_first = sorted(result.trials, key=lambda r: -float(r["objective"]))
    assert len(best_first) == len(checked.rows) == 3
    assert [r["trial_id"] for r in checked.rows] == [row["trial_id"] for row in best_first]
    for row, trial in zip(checked.rows, best_first):  # real scores on the full validation split
        assert row["proxy"] == pytest.approx(float(trial["objective"]), abs=1e-6)
        assert 0.0 < row["full"] <= 1.0 and row["epochs"] == 2
    rho = _assert_rho_of_the_rows(checked)
    text = open(checked.path, encoding="utf-8").read()
    assert "subsample=150 → full data" in text and checked.verdict in text
    assert f"Spearman ρ = {rho:.3f}" in text and f"Spearman ρ = {rho:.2f}" in checked.verdict
    written = read_csv(os.path.join(result.run_dir, "proxy_check.csv"))
    assert [row["trial_id"] for row in written] == [row["trial_id"] for row in checked.rows]


def test_proxy_check_refuses_a_search_without_a_proxy_before_it_runs(tmp_path, capsys):
    from kt_toolkit.cli import main

    path = tmp_path / "x.yaml"
    path.write_text(f"output: {{directory: {tmp_path / 'runs'}}}\n")
    assert main(["tune", str(path), "--proxy-check", "-q"]) == 2
    assert "needs a proxy to check" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # nothing ran
    path.write_text(f"data: {{subsample: 100}}\noutput: {{directory: {tmp_path / 'runs'}}}\n")
    assert main(["tune", str(path), "--proxy-check", "--proxy-top-k", "1", "-q"]) == 2
    assert "--proxy-top-k` must be an integer >= 2" in capsys.readouterr().err


def test_spearman_and_its_verdicts():
    rows = [{"proxy": p, "full": f} for p, f in ((0.9, 0.95), (0.8, 0.9), (0.7, 0.85))]
    assert _spearman(rows)[0] == pytest.approx(1.0)
    reversed_rows = [dict(r, full=1.8 - r["full"]) for r in rows]
    assert _spearman(reversed_rows)[0] == pytest.approx(-1.0)
    assert _spearman(rows[:2]) == (None, None)  # too few to rank
    assert "keep tuning on it" in _verdict(TRUST_RHO, 5)
    assert "only partly agrees" in _verdict(DOUBT_RHO, 5)
    assert "do not tune on it" in _verdict(DOUBT_RHO - 0.01, 5)


def test_proxy_check_refuses_stages(tmp_path):
    from kt_toolkit.config import config_from_dict
    from kt_toolkit.errors import ConfigError
    from kt_toolkit.proxy import check_proxy_arguments

    raw = {"data": {"subsample": 100}, "output": {"directory": str(tmp_path)},
           "stages": [{"name": "a"}]}
    with pytest.raises(ConfigError, match="this file has `stages`"):
        check_proxy_arguments(config_from_dict(raw), 3)


def test_a_hyperband_configuration_is_retrained_once(make_config):
    from kt_toolkit.experiment import run_experiment

    config = make_config(data={"subsample": 150},
                         tuner={"algorithm": "hyperband", "max_epochs": 3, "max_trials": 6},
                         training={"epochs": 3})
    result = run_experiment(config)
    checked = proxy_check(config, result.run_dir, top_k=5)
    run = RunDirectory(result.run_dir)

    def setting(trial_id):  # every knob's value, without Hyperband's round bookkeeping
        values = run.trial_record(trial_id)["hyperparameters"]["values"]
        return tuple(sorted((k, repr(v)) for k, v in values.items()
                            if not k.startswith("tuner/")))

    best_round = {}  # configuration -> the best score of its rounds
    for row in result.trials:
        if row["status"] == "COMPLETED":
            key = setting(row["trial_id"])
            best_round[key] = max(best_round.get(key, -math.inf), float(row["objective"]))
    assert len(best_round) < len(result.trials)  # some configurations ran several rounds
    settings = [setting(r["trial_id"]) for r in checked.rows]
    assert len(settings) == min(5, len(best_round)) >= 2
    assert len(set(settings)) == len(settings)  # each configuration once
    for row, key in zip(checked.rows, settings):  # with its best round's score
        assert row["proxy"] == pytest.approx(best_round[key], abs=1e-6)
    # Five configurations with a tie in the full scores: ρ is neither 1 nor -1 here.
    assert abs(_assert_rho_of_the_rows(checked)) < 1.0
