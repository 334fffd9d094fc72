"""The README's measured numbers, rendered from the results files (issue 18).

    python benchmarks/readme_numbers.py            # rewrite the README's sections
    python benchmarks/readme_numbers.py --check    # exit 1 when one is stale
    python benchmarks/readme_numbers.py --show race-17

Each section of README.md between `<!-- results NAME: begin -->` and
`<!-- results NAME: end -->` is rendered by the function registered under NAME (in
`_readme_races.py` or `_readme_searches.py`) from the files in `benchmarks/results/`
it names; the benchmark scripts write those files with `--save`.
`tests/test_readme_numbers.py` fails when the README differs from the rendering,
when a section's results file is missing, and when the README has a marker no
renderer knows. Renderers read JSON only (no Keras): to change a number, rerun its
command, then rerun this script.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _readme  # noqa: E402
import _readme_races  # noqa: E402  (importing them registers their sections)
import _readme_searches  # noqa: E402
from _readme import README, SECTIONS, render, sections_in, update  # noqa: E402

__all__ = ["README", "SECTIONS", "render", "sections_in", "update", "main",
           "_readme", "_readme_races", "_readme_searches"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="rewrite nothing; exit 1 when a section differs")
    parser.add_argument("--show", metavar="NAME", help="print one section's rendering")
    args = parser.parse_args(argv)
    if args.show:
        print(render(args.show), end="")
        return 0
    with open(README, encoding="utf-8") as handle:
        readme = handle.read()
    fresh = update(readme)
    if args.check:
        stale = [name for name, text in sections_in(readme).items() if render(name) != text]
        for name in stale:
            print(f"stale: {name}")
        return 1 if stale else 0
    if fresh != readme:
        with open(README, "w", encoding="utf-8") as handle:
            handle.write(fresh)
    print(f"{len(sections_in(fresh))} sections rendered into {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
