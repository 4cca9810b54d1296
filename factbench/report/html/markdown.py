"""The Markdown that factbench itself writes (summary.md, analysis.md) as HTML: headings, paragraphs,
block quotes, nested lists, pipe tables, inline code, bold and italics. Not a general Markdown parser:
it covers the constructs the report writers use, and escapes everything else, so that no text from a run
(a summary, a question) can inject markup into the page."""

from __future__ import annotations

import html
import re

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_LIST = re.compile(r"^(\s*)[-*]\s+(.*)$")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def inline(text: str) -> str:
    """Escape ``text`` and render `code`, **bold** and *italics* (code spans are not parsed further)."""
    parts = text.split("`")
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1 and i < len(parts) - 1:
            out.append(f"<code>{html.escape(part)}</code>")
            continue
        if i % 2 == 1:  # an unmatched backtick stays a backtick
            part = "`" + part
        s = html.escape(part)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", s)
        out.append(s)
    return "".join(out)


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]  # "\|" is a pipe inside a cell


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def to_html(markdown: str, table_class: str = "data") -> str:
    """HTML for ``markdown``; every table gets ``class=table_class`` (the page's script makes those sortable
    and filterable; without JavaScript they are plain tables), every heading an ``id``."""
    lines = markdown.splitlines()
    out: list[str] = []
    i = 0
    para: list[str] = []
    used_ids: set[str] = set()

    def flush_para():
        if para:
            out.append("<p>" + "<br>".join(inline(p) for p in para) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        if not line.strip():
            flush_para()
            i += 1
            continue
        m = _HEADING.match(line)
        if m:
            flush_para()
            level, text = len(m.group(1)), m.group(2).strip()
            anchor = base = slug(text)
            n = 1
            while anchor in used_ids:
                n += 1
                anchor = f"{base}-{n}"
            used_ids.add(anchor)
            out.append(f'<h{level} id="{anchor}">{inline(text)}</h{level}>')
            i += 1
            continue
        if line.startswith(">"):
            flush_para()
            quote = []
            while i < len(lines) and lines[i].startswith(">"):
                quote.append(lines[i][1:].strip())
                i += 1
            out.append("<blockquote>" + " ".join(inline(q) for q in quote) + "</blockquote>")
            continue
        if line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1].strip()):
            flush_para()
            head = _cells(line)
            i += 2
            body = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                body.append(_cells(lines[i]))
                i += 1
            rows = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in body)
            out.append(f'<table class="{table_class}"><thead><tr>'
                       + "".join(f"<th>{inline(c)}</th>" for c in head)
                       + f"</tr></thead><tbody>{rows}</tbody></table>")
            continue
        if _LIST.match(line):
            flush_para()
            out.append(_list(lines, i))
            while i < len(lines) and (_LIST.match(lines[i]) or (lines[i].startswith("  ") and lines[i].strip())):
                i += 1
            continue
        para.append(line.strip())
        i += 1
    flush_para()
    return "\n".join(out)


def _list(lines: list[str], start: int) -> str:
    """A (nested) bullet list starting at ``lines[start]``; nesting follows the indentation."""
    out: list[str] = []
    stack: list[int] = []
    i = start
    while i < len(lines):
        m = _LIST.match(lines[i])
        if not m:
            if lines[i].startswith("  ") and lines[i].strip() and out:  # a continuation line of an item
                out[-1] = out[-1] + " " + inline(lines[i].strip())
                i += 1
                continue
            break
        indent = len(m.group(1))
        if not stack or indent > stack[-1]:
            stack.append(indent)
            out.append("<ul>")
        else:
            while stack and indent < stack[-1]:
                stack.pop()
                out.append("</li></ul>")
            out.append("</li>")
        out.append("<li>" + inline(m.group(2)))
        i += 1
    while stack:
        stack.pop()
        out.append("</li></ul>")
    return "".join(out)
