"""Where the practice IDs that messages cite, e.g. "(E11)" or "(B3, C5)", are explained.

`kt-toolkit tune`, `report` and `check`, and `report.md` / `report.html`, show
`PRACTICES_LEGEND` once, so that an ID in their advice can be looked up. The page
lists every ID with the practice and what kt_toolkit does about it and where;
`tests/test_docs.py` checks that every ID the code cites has an entry there.
"""

__all__ = ["PRACTICES_LEGEND", "PRACTICES_PAGE"]

PRACTICES_PAGE = "docs/practices.md"
PRACTICES_LEGEND = (f"IDs in parentheses (B3, C4, …) name tuning practices, explained in "
                    f"{PRACTICES_PAGE} of the kt_toolkit repository.")
