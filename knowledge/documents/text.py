"""Text helpers every loader shares: whitespace, words broken across lines, list markers."""
from __future__ import annotations

import re

BULLET = re.compile(r"^\s*(?:[-*\u2022\u25cf\u25aa]|\(?[a-z0-9]{1,2}[.)])\s+")


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def join_lines(lines: list[str]) -> str:
    out = ""
    for line in lines:
        if out.endswith("-") and line[:1].islower():
            out += line  # a word broken across lines
        else:
            out = f"{out} {line}" if out else line
    return out
