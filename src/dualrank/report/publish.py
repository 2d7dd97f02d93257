"""A rendered table made ready to read: its title on top, the provenance footer under it
(:mod:`dualrank.report.provenance`), and the same in HTML for the Snakemake report, which shows
an .html result inline (a CSV it only offers for download).

The HTML comes from the table's own Markdown, so both show the same layout. The renderers write
a small subset of Markdown, and this module converts exactly that subset: a ``**bold**`` line is
the title, a block of ``|``-lines is a table (first line header, second the ``---`` rule, ``\\|``
an escaped bar), every other block a paragraph, ``**x**`` bold, ``*x*`` italic, two trailing
spaces a line break. Every character of the text is HTML-escaped, so nothing in a cell (a query,
a passage, ``MRR@10``) is read as markup or a link.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from dualrank.data.io import write_text
from dualrank.report import provenance

STYLE = """body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:13px;margin:1em;color:#222}
table{border-collapse:collapse;margin:0.8em 0}
th,td{border:1px solid #bbb;padding:3px 6px;vertical-align:top}
th{background:#eef1f5;text-align:left}
td:first-child{min-width:12em}
td{font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
tr:nth-child(even) td{background:#fafafa}
p.footer{color:#555;font-size:12px}"""

_BAR = re.compile(r"(?<!\\)\|")
# A cell of numbers ("0.383 ± 0.027 (0.370, +0.013)", "0.000⋆", "N/A"): kept on one line.
_NUMERIC = re.compile(r"[-+−\d.,±()⋆†♦—N/A ]+")


def inline(text: str) -> str:
    """One line of Markdown text as HTML: escaped, then bold and italic."""
    s = html.escape(text.replace("\\|", "|"), quote=False)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", s)


def cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip() for c in _BAR.split(inner)]


def table_html(block: list[str]) -> str:
    head, body = block[0], [b for b in block[1:] if not re.fullmatch(r"\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*", b.strip())]
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in cells(head)) + "</tr></thead>",
           "<tbody>"]
    num = ' class="num"'
    out += ["<tr>" + "".join(f"<td{num if _NUMERIC.fullmatch(c) else ''}>{inline(c)}</td>" for c in cells(b)) + "</tr>"
            for b in body]
    return "\n".join(out + ["</tbody>", "</table>"])


def blocks(md: str) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for line in md.splitlines():
        if line.strip():
            out[-1].append(line)
        elif out[-1]:
            out.append([])
    return [b for b in out if b]


def to_html(md: str, title: str) -> str:
    """A standalone HTML page of the Markdown a renderer wrote (see the module docstring)."""
    parts = []
    for i, block in enumerate(blocks(md)):
        if all(b.lstrip().startswith("|") for b in block):
            parts.append(table_html(block))
        elif i == 0 and len(block) == 1 and re.fullmatch(r"\*\*.+\*\*", block[0].strip()):
            parts.append(f"<h2>{inline(block[0].strip()[2:-2])}</h2>")
        else:
            cls = ' class="footer"' if all(b.startswith("*") and not b.startswith("**") for b in block) else ""
            lines = [inline(b.rstrip()) + ("<br>" if b.endswith("  ") else "") for b in block]
            parts.append(f"<p{cls}>" + "\n".join(lines) + "</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n"
            + "\n".join(parts) + "\n</body>\n</html>\n")


def finish_table(layout: dict, md: str | Path, html_out: str | Path | None = None,
                 about: str | Path | None = None, where: str | Path = ".") -> str:
    """Give the Markdown a renderer wrote its title and footer (rewritten in place), and write
    it as HTML (``html_out``) and the footer as text beside the CSV (``about``). Returns the
    final Markdown."""
    title = layout.get("title") or layout.get("name", "table")
    body = Path(md).read_text().strip("\n")
    if not body.startswith("**"):
        body = f"**{title}**\n\n{body}"
    facts = provenance.lines(layout.get("provenance"), where)
    text = body + "\n\n" + "  \n".join(f"*{x}*" for x in facts) + "\n"
    write_text(md, text)
    if html_out:
        write_text(html_out, to_html(text, title))
    if about:
        write_text(about, f"{title}\n" + "\n".join(facts) + "\n")
    return text
