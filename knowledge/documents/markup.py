"""Markdown, HTML and plain text: blocks with the heading path from the markup (or the text's own shape)."""
from __future__ import annotations

import re

from knowledge.documents.blocks import Block, ParsedDocument, decode, table_block
from knowledge.documents.guards import Budget, Limits
from knowledge.documents.text import BULLET, clean


MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")


def _md_inline(text: str) -> str:
    text = MD_LINK.sub(r"\1", text)
    return MD_EMPHASIS.sub(r"\2", text)


def parse_markdown(name: str, data: bytes, limits: Limits, budget: Budget) -> ParsedDocument:
    text = decode(data)
    headings = [(len(m.group(1)), m.group(2)) for m in map(MD_HEADING.match, text.splitlines()) if m]
    top_levels = [lvl for lvl, _ in headings if lvl == 1]
    title = headings[0][1] if headings and headings[0][0] == 1 and len(top_levels) == 1 else ""
    section: list[tuple[int, str]] = []
    blocks: list[Block] = []
    para: list[str] = []
    table: list[list[str]] = []
    named = False  # the table's first row is followed by the |---| row: it names the columns
    in_fence = False

    def flush():
        nonlocal named
        if para:
            blocks.append(Block(_md_inline(clean(" ".join(para))), None, tuple(t for _, t in section)))
            para.clear()
        if table:
            blocks.append(table_block(table[1:] if named else list(table), table[0] if named else None, None,
                                      tuple(t for _, t in section)))
            table.clear()
            named = False

    for number, raw in enumerate(text.splitlines()):
        if number % 1000 == 0:
            budget.check()
        line = raw.rstrip()
        if line.strip().startswith("```"):
            in_fence = not in_fence
            continue
        heading = None if in_fence else MD_HEADING.match(line)
        if heading:
            flush()
            level, heading_text = len(heading.group(1)), _md_inline(heading.group(2))
            if title and level == 1:
                section = []
                continue
            section = [(lvl, t) for lvl, t in section if lvl < level] + [(level, heading_text)]
        elif not line.strip() or re.match(r"^\s*(-{3,}|\*{3,}|_{3,})\s*$", line):
            flush()
        elif re.match(r"^\s*\|?\s*:?-{3,}", line):
            named = len(table) == 1  # the table separator row
        elif line.lstrip().startswith("|"):
            if para:
                flush()
            table.append([_md_inline(clean(c)) for c in line.strip().strip("|").split("|")])
        else:
            if table or BULLET.match(line):
                flush()
            para.append(line.strip())
    flush()
    return ParsedDocument(title=_md_inline(title), media_type="text/markdown", pages=None, blocks=blocks)


def parse_text(name: str, data: bytes, limits: Limits, budget: Budget) -> ParsedDocument:
    text = decode(data)
    blocks = []
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.strip():
            budget.check()
            blocks.append(Block(clean(paragraph), None, ()))
    return ParsedDocument(title="", media_type="text/plain", pages=None, blocks=blocks)


# --- HTML ------------------------------------------------------------------------------------------------

HTML_SKIP = ["script", "style", "nav", "footer", "header", "aside", "noscript", "form", "template", "svg"]
HTML_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "table", "dt", "dd", "blockquote", "pre"]


def parse_html(name: str, data: bytes, limits: Limits, budget: Budget) -> ParsedDocument:
    """Python's own html.parser, not lxml's: it reads no DTD, so it never expands an entity declared in the file
    nor fetches an external one (only the named character references of HTML are decoded)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup.find_all(HTML_SKIP):
        tag.decompose()
    h1s = soup.find_all("h1")
    title = clean(soup.title.get_text()) if soup.title else ""
    if len(h1s) == 1:
        title = clean(h1s[0].get_text()) or title
    root = soup.find("main") or soup.find("article") or soup.body or soup
    section: list[tuple[int, str]] = []
    blocks: list[Block] = []
    for tag in root.find_all(HTML_BLOCKS):
        budget.check()
        if tag.find_parent("table") is not None or (tag.name != "table" and tag.find_parent(HTML_BLOCKS) is not None):
            continue  # nested: its text is part of the enclosing block or table cell
        if tag.name == "table":
            blocks.extend(_html_table(tag, tuple(t for _, t in section)))
            continue
        text = clean(tag.get_text(" "))
        if not text:
            continue
        if tag.name[0] == "h" and tag.name[1:].isdigit():
            level = int(tag.name[1])
            if level == 1 and len(h1s) == 1:
                section = []
                continue
            section = [(lvl, t) for lvl, t in section if lvl < level] + [(level, text)]
            continue
        blocks.append(Block(text, None, tuple(t for _, t in section)))
    if not blocks:  # a page of bare text without block tags
        text = clean(root.get_text(" "))
        if text:
            blocks.append(Block(text, None, ()))
    return ParsedDocument(title=title, media_type="text/html", pages=None, blocks=blocks)


def _html_table(table, section: tuple[str, ...]) -> list[Block]:
    """The caption as a block of its own, then the table; its first row names the columns when it is all <th>
    (or sits in <thead>)."""
    caption = clean(table.caption.get_text(" ")) if table.caption else ""
    trs = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
    rows = [[clean(cell.get_text(" ")) for cell in tr.find_all(["th", "td"], recursive=False)] for tr in trs]
    named = len(trs) >= 2 and (trs[0].find_parent("thead") is not None
                               or all(cell.name == "th" for cell in trs[0].find_all(["th", "td"], recursive=False)))
    blocks = [Block(caption, None, section)] if caption else []
    return blocks + [table_block(rows[1:] if named else rows, rows[0] if named else None, None, section)]
