"""The README's knob tables are the generated ones (they cannot drift from the code)."""

import os

from kt_toolkit.config.knobs import BUILDERS
from kt_toolkit.hypermodels.tables import knob_tables


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_readme_holds_the_generated_knob_tables():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    begin = readme.index("<!-- knob tables: begin -->\n") + len("<!-- knob tables: begin -->\n")
    end = readme.index("<!-- knob tables: end -->")
    assert readme[begin:end] == knob_tables(), (
        "README knob tables are stale: paste `python -m kt_toolkit.hypermodels.tables`")


def test_every_knob_has_a_row_and_a_practice():
    tables = knob_tables()
    for _, _, knobs in BUILDERS.values():
        for knob in knobs:
            assert f"| `{knob.name}` |" in tables
            assert knob.practice, knob.name
