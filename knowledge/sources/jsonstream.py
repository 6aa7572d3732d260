"""The items of a JSON array read as the answer arrives, one at a time, with a bounded buffer: an HR system's
report of 100,000 employees or list of 400,000 time-off requests is 40-150 MB of JSON and gigabytes as Python
objects, so it is never held whole. The same checks as payload.decode: NaN and Infinity refused, decimals kept
exact, nesting too deep to be data refused; an item larger than max_item is refused rather than buffered."""
from __future__ import annotations

import codecs
import json
from decimal import Decimal
from typing import Iterable, Iterator

from knowledge.sources import payload
from knowledge.sources.items import SourceError

MAX_ITEM = 1024 * 1024  # one employee or one request is well under 10 kB
WHITESPACE = " \t\n\r"
DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=payload._no_constant)


class _Buffer:
    """Text decoded from the chunks so far, from `pos` on; more() reads the next chunk."""

    def __init__(self, chunks: Iterable[bytes], what: str, max_item: int):
        self.chunks, self.what, self.max_item = iter(chunks), what, max_item
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text, self.pos, self.ended = "", 0, False

    def more(self) -> bool:
        if self.ended:
            return False
        try:
            chunk = next(self.chunks)
        except StopIteration:
            chunk, self.ended = b"", True
        try:
            text = self.decoder.decode(chunk, final=self.ended)
        except UnicodeDecodeError:
            raise SourceError(f"{self.what} is not valid JSON (not UTF-8 text).") from None
        if self.pos > 64 * 1024:  # what was read is dropped: the buffer holds about one item and one chunk
            self.text, self.pos = self.text[self.pos:], 0
        self.text += text
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in WHITESPACE:
                self.pos += 1
            if self.pos < len(self.text) or not self.more():
                return self.text[self.pos:self.pos + 1]

    def expect(self, characters: str) -> str:
        found = self.peek()
        if not found or found not in characters:
            raise SourceError(f"{self.what} is not valid JSON (expected {' or '.join(characters)} at character "
                              f"{self.pos}, found {found or 'the end'!r}).")
        self.pos += 1
        return found

    def value(self):
        """The next JSON value, reading more until it is complete (a value that ends where the text read so far
        ends may go on: a number, so it is decoded again once more has arrived)."""
        self.peek()
        while True:
            try:
                value, end = DECODER.raw_decode(self.text, self.pos)
                if end < len(self.text) or self.ended:
                    self.pos = end
                    return value
            except RecursionError:
                raise SourceError(f"{self.what} is nested too deeply to be real data.") from None
            except ValueError as exc:
                if self.ended:
                    raise SourceError(f"{self.what} is not valid JSON ({str(exc)[:80]}).") from None
            if len(self.text) - self.pos > self.max_item:
                raise SourceError(f"{self.what} holds an item larger than {self.max_item // 1024} kB; not read.")
            self.more()

    def rest(self):
        """Everything left, decoded as one value (a small answer of the wrong shape: named as payload does)."""
        while self.more():
            if len(self.text) - self.pos > self.max_item:
                raise SourceError(f"{self.what} is not the list expected and larger than "
                                  f"{self.max_item // 1024} kB.")
        return payload.decode(self.text[self.pos:].encode(), self.what)


def items(chunks: Iterable[bytes], what: str, key: str | None = None, where: str | None = None,
          max_item: int = MAX_ITEM) -> Iterator[dict]:
    """The objects of the answer's array (key None: the answer is the array; else the array under `key` of the
    answer's object, whose other members are read and dropped). what names the answer, where the array (for
    messages: "the time-off requests, item 3 is text where an object was expected")."""
    buffer = _Buffer(chunks, what, max_item)
    where = where or what
    if key is not None:
        if buffer.peek() != "{":
            payload.obj(buffer.rest(), what)  # raises, naming what the answer is instead
        buffer.expect("{")
        while buffer.peek() != "}":
            if buffer.peek() != '"':
                buffer.expect('"')  # raises: a member's name is text
            name = buffer.value()
            buffer.expect(":")
            if name != key:
                buffer.value()  # another member (a title, the fields): read and dropped
            elif buffer.peek() == "[":
                yield from _array(buffer, where)
            else:
                payload.objects(buffer.value(), where)  # null is no items; anything else is named
            if buffer.expect(",}") == "}":
                break
        else:
            buffer.expect("}")
    else:
        if buffer.peek() != "[":
            payload.objects(buffer.rest(), where)  # raises (or null: no items)
            return
        yield from _array(buffer, where)
    if buffer.peek():
        raise SourceError(f"{what} is not valid JSON (more after its end).")


def _array(buffer: _Buffer, where: str) -> Iterator[dict]:
    buffer.expect("[")
    if buffer.peek() == "]":
        buffer.pos += 1
        return
    n = 0
    while True:
        n += 1
        yield payload.obj(buffer.value(), f"{where}, item {n}")
        if buffer.expect(",]") == "]":
            return
