"""--proxy-check: the proxy search's best trials retrained on the full data (D1, D2)."""

import os

import pytest

from kt_toolkit.proxy import DOUBT_RHO, TRUST_RHO, _spearman, _verdict, proxy_check


def test_a_proxy_search_is_checked_on_the_full_data(make_config):
    from kt_toolkit.experiment import run_experiment

    config = make_config(data={"subsample": 150}, tuner={"max_trials": 3},
                         training={"epochs": 2})
    result = run_experiment(config)
    checked = proxy_check(config, result.run_dir, top_k=3)
    assert [r["trial_id"] for r in checked.rows] == [
        row["trial_id"] for row in sorted(result.trials, key=lambda r: -float(r["objective"]))]
    for row in checked.rows:  # real scores on the full validation split
        assert 0.0 < row["full"] <= 1.0 and row["epochs"] == 2
    assert checked.rho is None or -1.0 <= checked.rho <= 1.0
    text = open(checked.path, encoding="utf-8").read()
    assert "subsample=150 → full data" in text and checked.verdict in text
    assert os.path.exists(os.path.join(result.run_dir, "proxy_check.csv"))


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
    rows = {row["trial_id"]: row for row in result.trials}
    settings = [tuple(rows[r["trial_id"]][k] for k in ("units", "learning_rate"))
                for r in checked.rows]
    assert len(settings) == len(set(settings))  # each configuration once
