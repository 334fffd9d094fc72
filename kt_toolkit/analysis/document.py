"""A tiny document model rendered to Markdown and to self-contained HTML.

The report is built once as a list of blocks and written twice: `report.md`
links its images (relative paths), `report.html` embeds them (base64), so the
HTML file can be mailed or attached to an issue on its own.
"""

import base64
import html
import os
from collections.abc import Iterable

__all__ = ["Document"]

_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       max-width: 1100px; margin: 2em auto; padding: 0 1.2em; color: #1f2328;
       line-height: 1.5; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; display: block;
        overflow-x: auto; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; }
tr:nth-child(even) td { background: #fbfcfd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #eaeef2; margin: .5em 0; }
code { background: #f6f8fa; padding: .1em .3em; border-radius: 4px; font-size: 0.9em; }
ol.steps li { margin-bottom: .5em; }
.box { background: #f6f8fa; border-left: 4px solid #0969da; padding: .6em 1em;
       margin: 1em 0; }
details { margin: .8em 0; }
summary { cursor: pointer; font-weight: 600; }
"""


class Document:
    """Blocks of a report: headings, paragraphs, lists, tables, images, folds."""

    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir
        self.blocks = []

    def heading(self, level: int, text: str) -> None:
        self.blocks.append(("heading", level, text))

    def paragraph(self, text: str, *, boxed: bool = False) -> None:
        self.blocks.append(("paragraph", text, boxed))

    def items(self, entries: Iterable[str], *, ordered: bool = False) -> None:
        self.blocks.append(("items", list(entries), ordered))

    def table(self, headers: Iterable[object], rows: Iterable[Iterable[object]]) -> None:
        self.blocks.append(("table", list(headers), [list(row) for row in rows]))

    def image(self, path: str, alt: str) -> None:
        self.blocks.append(("image", path, alt))

    def fold(self, summary: str) -> "Document":
        """A `Document` whose blocks show folded (`<details>`) in HTML."""
        inner = Document(self.base_dir)
        self.blocks.append(("fold", summary, inner))
        return inner

    # Markdown ------------------------------------------------------------
    def markdown(self) -> str:
        return "\n".join(self._markdown_lines()).rstrip() + "\n"

    def _markdown_lines(self):
        lines = []
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                lines += ["#" * block[1] + " " + block[2], ""]
            elif kind == "paragraph":
                lines += [("> " if block[2] else "") + block[1], ""]
            elif kind == "items":
                lines += [(f"{i}. " if block[2] else "- ") + entry
                          for i, entry in enumerate(block[1], 1)] + [""]
            elif kind == "table":
                lines += _markdown_table(block[1], block[2]) + [""]
            elif kind == "image":
                rel = os.path.relpath(block[1], self.base_dir).replace(os.sep, "/")
                lines += [f"![{block[2]}]({_md_path(rel)})", ""]
            elif kind == "fold":
                lines += [f"**{block[1]}**", ""] + block[2]._markdown_lines()
        return lines

    # HTML ----------------------------------------------------------------
    def html(self, title: str) -> str:
        body = "\n".join(self._html_parts())
        return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n"
                f"<body>\n{body}\n</body></html>\n")

    def html_fragment(self) -> str:
        """The blocks as HTML without a page around them (a notebook's `_repr_html_`)."""
        return "\n".join(self._html_parts())

    def _html_parts(self):
        parts = []
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                parts.append(f"<h{block[1]}>{_inline(block[2])}</h{block[1]}>")
            elif kind == "paragraph":
                css = ' class="box"' if block[2] else ""
                parts.append(f"<p{css}>{_inline(block[1])}</p>")
            elif kind == "items":
                tag = "ol" if block[2] else "ul"
                css = ' class="steps"' if block[2] else ""
                parts.append(f"<{tag}{css}>" + "".join(f"<li>{_inline(e)}</li>"
                                                       for e in block[1]) + f"</{tag}>")
            elif kind == "table":
                parts.append(_html_table(block[1], block[2]))
            elif kind == "image":
                parts.append(_html_image(block[1], block[2]))
            elif kind == "fold":
                parts.append(f"<details><summary>{_inline(block[1])}</summary>"
                             + "\n".join(block[2]._html_parts()) + "</details>")
        return parts


def _md_cell(value):
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_path(rel):
    return rel.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _markdown_table(headers, rows):
    lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return lines


def _inline(text):
    """Escapes `text` and turns Markdown's `code` and **bold** into HTML."""
    out, code, bold = [], False, False
    escaped = html.escape(str(text))
    index = 0
    while index < len(escaped):
        if escaped[index] == "`":
            out.append("</code>" if code else "<code>")
            code = not code
            index += 1
        elif escaped.startswith("**", index) and not code:
            out.append("</strong>" if bold else "<strong>")
            bold = not bold
            index += 2
        else:
            out.append(escaped[index])
            index += 1
    return "".join(out) + ("</code>" if code else "") + ("</strong>" if bold else "")


def _is_number(value):
    try:
        float(str(value))
        return str(value).strip() != ""
    except ValueError:
        return False


def _html_table(headers, rows):
    head = "".join(f"<th>{_inline(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(
        f'<td class="num">{_inline(v)}</td>' if _is_number(v) else f"<td>{_inline(v)}</td>"
        for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_image(path, alt):
    try:
        with open(path, "rb") as handle:
            data = base64.b64encode(handle.read()).decode("ascii")
    except OSError:
        return f"<p><em>(image missing: {html.escape(os.path.basename(path))})</em></p>"
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
            f"<figcaption><code>{html.escape(os.path.basename(path))}</code></figcaption>"
            "</figure>")
