"""The machinery of `readme_numbers.py`: markers, the renderer registry, reflowing.

A renderer is a function from results records (`_record.load`) to Markdown,
registered with `@section(NAME, FILE, ...)`; it reads JSON only (no Keras).
"""

import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import _record  # noqa: E402

README = os.path.join(_record.REPO, "README.md")
MARKER = re.compile(r"<!-- results ([\w.-]+): begin -->\n(.*?)<!-- results \1: end -->",
                    re.DOTALL)
SECTIONS = {}


def section(name, *files):
    """Registers a renderer of the section `name` from `benchmarks/results/<file>.json`."""
    def register(function):
        SECTIONS[name] = (files, function)
        return function
    return register


def render(name):
    """The section's Markdown, from its results files (FileNotFoundError when one is absent)."""
    files, function = SECTIONS[name]
    return wrap(function(*(_record.load(file) for file in files)))


def sections_in(readme):
    """{name: text} of every results section of the README's text."""
    return {match.group(1): match.group(2) for match in MARKER.finditer(readme)}


def update(readme):
    """The README's text with every results section rendered again."""
    def again(match):
        name = match.group(1)
        return (f"<!-- results {name}: begin -->\n{render(name)}"
                f"<!-- results {name}: end -->")
    return MARKER.sub(again, readme)


def wrap(text, width=88):
    """Reflows the prose of `text` (paragraphs and `- ` bullets) to `width` columns;
    tables, headings and code blocks are left as they are."""
    import textwrap

    out, block = [], []

    def flush():
        if block:
            bullet = block[0].startswith("- ")
            words = " ".join(line.strip() for line in block)
            out.extend(textwrap.wrap(words, width, subsequent_indent="  " if bullet else "",
                                     break_on_hyphens=False, break_long_words=False))
            block.clear()

    # a number and its unit stay on one line ("2 %", "90 s", "73 MB")
    text = re.sub(r"(\d) (%|s\b|MB\b|epochs\b)", "\\1\u00a0\\2", text)
    for line in text.split("\n"):
        if not line.strip() or line.startswith(("|", "#", "```", "<!--")):
            flush()
            out.append(line)
        elif line.startswith("- "):
            flush()
            block.append(line)
        else:
            block.append(line)
    flush()
    return "\n".join(out).replace("\u00a0", " ")


def seconds(value, budget):
    return f"{value:.0f} s" if math.isfinite(value) else f">{budget} s"


def span(values, unit=""):
    low, high = min(values), max(values)
    return f"{low:.0f}{unit}" if round(low) == round(high) else f"{low:.0f}–{high:.0f}{unit}"
