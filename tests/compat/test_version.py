"""kt_toolkit.compat.version: the tested keras-tuner range, its warning and setup.cfg's pin."""

import configparser
import os
import warnings

import pytest

from kt_toolkit.compat import version

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("text, inside", [
    ("1.4.7", True), ("1.4.8", True), ("1.4.9.dev0", True), ("1.4.10", True),
    ("1.4.6", False), ("1.3.5", False), ("1.5.0rc1", False), ("1.5.0", False),
    ("2.0", False), ("nonsense", False)])
def test_tested_range(text, inside):
    assert version.in_tested_range(text) is inside


def test_the_installed_keras_tuner_is_in_the_tested_range():
    assert version.in_tested_range(version.installed_version())


def test_an_untested_version_warns_once(monkeypatch):
    monkeypatch.setattr(version, "_WARNED", [])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not version.check_keras_tuner_version("1.4.8")
        assert version.check_keras_tuner_version("1.5.0")
        assert not version.check_keras_tuner_version("1.6.0")  # once per process
    assert [w.category for w in caught] == [version.UntestedVersionWarning]
    assert "1.5.0" in str(caught[0].message) and ">=1.4.7,<1.5" in str(caught[0].message)


def test_setup_cfg_pins_the_tested_range():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(REPO, "setup.cfg"))
    requires = [line.strip() for line in parser["options"]["install_requires"].splitlines()]
    assert f"keras-tuner{version.TESTED_KERAS_TUNER}" in requires
