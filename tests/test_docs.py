"""The README and docs/practices.md: every cited practice ID has an entry, every link resolves.

Nothing here imports Keras; the files are read as text.
"""

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRACTICES = os.path.join(ROOT, "docs", "practices.md")
README = os.path.join(ROOT, "README.md")
# A practice ID (A1 … F4) as the code cites them: inside parentheses, alone or listed,
# e.g. "(E11)", "(B3, C5)", "(B3–B5)", "(the PRACTICES priors, C1)".
_ID = re.compile(r"\b[A-F][0-9]{1,2}\b")
_PARENTHESES = re.compile(r"\(([^()]*)\)")


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _cited_ids():
    """{ID: first file citing it} over kt_toolkit/, plus the knob tables' practice column."""
    cited = {}
    for folder, _, names in os.walk(os.path.join(ROOT, "kt_toolkit")):
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                for group in _PARENTHESES.findall(_read(path)):
                    for found in _ID.findall(group):
                        cited.setdefault(found, os.path.relpath(path, ROOT))
    from kt_toolkit.config.knobs import BUILDERS, builder_knobs  # no Keras

    for knob in (k for builder in BUILDERS for k in builder_knobs(builder)):
        for found in _ID.findall(knob.practice):
            cited.setdefault(found, f"kt_toolkit/config/knobs.py ({knob.name})")
    return cited


def _anchors():
    return set(re.findall(r'<a id="([a-z][0-9]{1,2})"></a>', _read(PRACTICES)))


def test_every_practice_id_the_code_cites_has_an_entry_in_docs_practices():
    assert os.path.isfile(PRACTICES), "docs/practices.md is missing"
    cited = _cited_ids()
    assert len(cited) >= 30, sorted(cited)  # the regex still finds the code's citations
    anchors = _anchors()
    missing = {pid: where for pid, where in cited.items() if pid.lower() not in anchors}
    assert not missing, f"IDs cited with no <a id> in docs/practices.md: {missing}"
    text = _read(PRACTICES)
    for pid in cited:  # the anchor heads an entry of that ID, with what kt_toolkit does
        entry = text.split(f'<a id="{pid.lower()}"></a>', 1)[1].split("<a id=", 1)[0]
        assert entry.lstrip().startswith(f"### {pid} "), pid
        assert "**In kt_toolkit:**" in entry, pid


def test_docs_practices_has_one_anchor_per_entry_and_names_only_existing_files():
    text = _read(PRACTICES)
    ids = re.findall(r'<a id="([a-z][0-9]{1,2})"></a>', text)
    assert len(ids) == len(set(ids))
    # Every repository path the page names in backticks exists.
    for path in re.findall(r"`((?:kt_toolkit|experiments|benchmarks)/[\w/.]*)`", text):
        assert os.path.exists(os.path.join(ROOT, path)), path


def test_readme_links_the_practices_page_and_no_missing_file_or_stale_run():
    text = _read(README)
    assert "](docs/practices.md" in text
    assert "PRACTICES.md" not in text  # not in the repository
    assert "runs/digits_mlp-6379dab0" not in text  # a run directory only one machine had
    # The first ID the README cites sits in the paragraph that says where IDs are listed.
    first_id = re.search(r"\([^()]*\b[A-F][0-9]{1,2}\b", text)
    assert first_id
    start = text.rfind("\n\n", 0, first_id.start())
    paragraph = text[start:text.find("\n\n", first_id.start())]
    assert "](docs/practices.md)" in paragraph, paragraph


def _relative_links(text):
    """Markdown link targets that are neither URLs nor in-page anchors."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks hold no links
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    targets += re.findall(r'href="([^"]+)"', text)
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]


@pytest.mark.parametrize("document", ["README.md", "docs/practices.md"])
def test_every_relative_link_points_to_a_file_in_the_repository(document):
    path = os.path.join(ROOT, document)
    links = _relative_links(_read(path))
    if document == "README.md":
        assert links, "the README links docs/practices.md at least"
    for link in links:
        target, _, anchor = link.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(path), target))
        assert os.path.exists(resolved), f"{document}: {link}"
        if anchor and target.endswith("practices.md"):
            assert anchor in _anchors() or anchor in _heading_slugs(_read(resolved)), link


def _heading_slugs(text):
    """GitHub's anchors for Markdown headings (lowercase, punctuation dropped, - for spaces)."""
    slugs = set()
    for heading in re.findall(r"^#+ (.+)$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        slugs.add(slug)
    return slugs


def test_readme_states_how_long_the_test_suite_takes():
    text = _read(README)
    command = text.index('pip install -e ".[dev]" && pytest')
    nearby = text[command - 400:command + 400]
    assert re.search(r"about\s+\d+\s+minutes\s+on\s+a\s+2-core\s+machine", nearby), nearby
