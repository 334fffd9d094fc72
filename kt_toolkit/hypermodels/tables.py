"""The README's knob tables, generated from the knob definitions. Imports no Keras.

    python -m kt_toolkit.hypermodels.tables   # prints the Markdown the README holds

A test checks that the README holds exactly this text, so the tables never drift
from the code.
"""

from kt_toolkit.config.knobs import BUILDERS, optimizer_knobs

__all__ = ["knob_tables"]

_HEAD = ("| knob | default range | first value | practice | what |\n"
         "|---|---|---|---|---|")


def _text(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _row(knob):
    if knob.values or knob.kind in ("choice", "bool"):
        span = ", ".join(_text(v) for v in (knob.values or (False, True)))
    else:
        span = f"{_text(knob.min_value)} – {_text(knob.max_value)}"
        if knob.sampling != "linear":
            span += f" ({knob.sampling})"
        if knob.step:
            span += f", step {_text(knob.step)}"
    notes = [knob.help]
    if knob.parent:
        notes.append(f"only when `{knob.parent[0]}` is " + " or ".join(knob.parent[1]))
    if not knob.tuned:
        notes.append("fixed at the first value until the YAML opens it")
    return (f"| `{knob.name}` | {span} | {_text(knob.default)} | {knob.practice} | "
            f"{'; '.join(notes)} |")


def knob_tables() -> str:
    """Markdown: one table per builder, then the shared optimizer/schedule/batch knobs."""
    shared = {knob.name for knob in optimizer_knobs()}
    parts = []
    for name, (_, cls, knobs) in BUILDERS.items():
        rows = [_row(k) for k in knobs if k.name not in shared]
        parts.append(f"#### {cls} (`builder: {name}`)\n\n{_HEAD}\n" + "\n".join(rows))
    rows = [_row(k) for k in optimizer_knobs()]
    parts.append("#### Every builder: optimizer, learning rate, schedule, batch\n\n"
                 f"{_HEAD}\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    print(knob_tables(), end="")
