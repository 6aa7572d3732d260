"""What an HR system's API sends back, checked before it is used: JSON that is not JSON, nested too deep to be
data, lists where objects belong, text fields holding objects, numbers that are not finite. Each becomes a
SourceError naming the answer, the item and the field, so the admin reads what is wrong instead of
`AttributeError` or `RecursionError`, and nothing is written (the run is all or nothing)."""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from knowledge.sources.items import SourceError

MAX_AMOUNT = Decimal(1_000_000)  # days or hours: anything larger is not a leave figure


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def decode(raw: bytes, what: str):
    """JSON, with NaN/Infinity refused and decimals kept exact."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        raise SourceError(f"{what} is nested too deeply to be real data.") from None
    except ValueError as exc:
        raise SourceError(f"{what} is not valid JSON ({str(exc)[:80]}).") from None


def kind_of(value) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "empty"}.get(
        type(value), "a number")


def obj(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise SourceError(f"{where} is {kind_of(value)} where an object was expected.")
    return value


def objects(value, where: str) -> list[dict]:
    """A list of objects (None counts as an empty list)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise SourceError(f"{where} is {kind_of(value)} where a list was expected.")
    for n, item in enumerate(value):
        obj(item, f"{where}, item {n + 1}")
    return value


def text(item: dict, field: str, where: str) -> str:
    """A text field ("" when absent); a number is taken as its digits; anything else is an error."""
    value = item.get(field)
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise SourceError(f"{where}: the field {field!r} is {kind_of(value)} where text was expected.")
    return str(value)


def amount(value, where: str, field: str) -> Decimal | None:
    """A finite number of reasonable size, or None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, (bool, dict, list)):
        raise SourceError(f"{where}: the field {field!r} is {kind_of(value)} where a number was expected.")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise SourceError(f"{where}: the field {field!r} is {str(value)[:40]!r}, not a number.") from None
    if not number.is_finite() or abs(number) > MAX_AMOUNT:
        raise SourceError(f"{where}: the field {field!r} is {str(value)[:40]}, not a leave figure.")
    return number


def json_object(body: bytes, what: str) -> dict:
    """A service's answer that must be a JSON object (a token endpoint's, a cloud API's)."""
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        raise SourceError(f"{what} did not answer with JSON.") from None
    if not isinstance(answer, dict):
        raise SourceError(f"{what} answered with something other than a JSON object.")
    return answer
