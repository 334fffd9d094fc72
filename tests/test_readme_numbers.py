"""The README's measured numbers are the ones its results files give (issue 18).

Each `<!-- results NAME: begin/end -->` section of README.md is rendered by
`benchmarks/readme_numbers.py` from `benchmarks/results/*.json`, which the benchmark
scripts write with `--save`. No training here: JSON in, Markdown out.
"""

import json
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))

import _record  # noqa: E402
import readme_numbers  # noqa: E402

FIX = "rerun `python benchmarks/readme_numbers.py` (or the benchmark with --save)"


def _readme():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        return handle.read()


def test_every_results_section_of_the_readme_renders_as_written():
    sections = readme_numbers.sections_in(_readme())
    assert sections, "README.md has no <!-- results NAME: begin --> section"
    unknown = sorted(set(sections) - set(readme_numbers.SECTIONS))
    assert not unknown, f"README sections no renderer knows: {unknown}"
    stale = [name for name, text in sections.items()
             if readme_numbers.render(name) != text]
    assert not stale, f"README sections that differ from their results files: {stale}; {FIX}"


def test_every_renderer_has_its_section_and_its_results_files():
    sections = readme_numbers.sections_in(_readme())
    missing = sorted(set(readme_numbers.SECTIONS) - set(sections))
    assert not missing, f"renderers whose README section is gone: {missing}"
    for name, (files, _) in readme_numbers.SECTIONS.items():
        assert files, name
        for file in files:
            assert os.path.isfile(_record.path_of(file)), (
                f"section {name}: benchmarks/results/{file}.json is missing")


def test_a_missing_results_file_stops_the_rendering(tmp_path, monkeypatch):
    monkeypatch.setattr(_record, "RESULTS", str(tmp_path))
    for name in readme_numbers.SECTIONS:
        with pytest.raises(FileNotFoundError):
            readme_numbers.render(name)


def test_a_changed_number_is_drift():
    readme = _readme()
    name, text = next(iter(readme_numbers.sections_in(readme).items()))
    digit = next(i for i, char in enumerate(text) if char.isdigit())
    changed = text[:digit] + str((int(text[digit]) + 1) % 10) + text[digit + 1:]
    drifted = readme.replace(text, changed)
    assert readme_numbers.sections_in(drifted)[name] != readme_numbers.render(name)
    assert readme_numbers.update(drifted) == readme


def test_every_results_file_says_how_when_and_where():
    files = sorted(f for f in os.listdir(_record.RESULTS) if f.endswith(".json"))
    assert files
    for file in files:
        with open(os.path.join(_record.RESULTS, file), encoding="utf-8") as handle:
            record = json.load(handle)
        assert record["name"] + ".json" == file
        assert record["command"].startswith("python "), file
        assert record["commit"] and record["date"], file
        assert record["machine"]["cpus"] and record["machine"]["python"], file
        assert record["machine"]["packages"].get("keras"), file
        assert record["seeds"] and record["conditions"], file
        assert record["data"], file


def test_every_results_file_is_quoted_somewhere():
    quoted = {file for files, _ in readme_numbers.SECTIONS.values() for file in files}
    quoted.add("quasi_random_sequences")  # kt_toolkit/tuners/quasi_random.py, below
    files = {f[:-len(".json")] for f in os.listdir(_record.RESULTS) if f.endswith(".json")}
    assert not files - quoted, f"results files nothing renders: {sorted(files - quoted)}"


def test_the_quasi_random_docstring_quotes_its_results_file():
    engines = _record.load("quasi_random_sequences")["data"]["engines"]
    with open(os.path.join(REPO, "kt_toolkit", "tuners", "quasi_random.py"),
              encoding="utf-8") as handle:
        source = " ".join(handle.read().split())
    for engine in ("sobol", "random", "halton"):
        assert f"{100 * engines[engine]['empty_cells']:.2f} %" in source, engine
    halton, sobol, random = (engines[e]["l2_star_discrepancy"]
                             for e in ("halton", "sobol", "random"))
    assert f"{halton / sobol:.1f} times Sobol's" in source
    assert f"{random / halton:.1f} times Halton's" in source


def test_no_benchmark_numbers_outside_the_rendered_sections():
    """A paragraph that quotes a benchmark script with measured-looking numbers (a
    decimal, a percentage, a ratio) sits in a results section, or says it is n=1."""
    import re

    text = readme_numbers._readme.MARKER.sub("\n\n", _readme())
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    loose = [paragraph[:200] for paragraph in re.split(r"\n\s*\n", text)
             if "benchmarks/" in paragraph and "n=1" not in paragraph
             and re.search(r"\d+\.\d+|\d+ ?%|×\d", paragraph)]
    assert not loose, f"benchmark numbers outside a results section: {loose}"
