"""Leave types' names in each of the company's languages: a `[leave_type_names.CODE]` table per language.

`[leave_types]` names each type once, in the company's first language, so the facts of a question in another
language carried that name in the middle of their sentences (found by three outside reviews). A language may name
the types it wants to; a type it leaves out keeps its `[leave_types]` name."""
from __future__ import annotations

import re
from typing import Callable

LEAVE_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def read_leave_types(table: dict, fail: Callable[[tuple, str], None], given: bool) -> dict[str, str]:
    """[leave_types]: code -> the type's name as people say it (in the company's first language)."""
    leave_types: dict[str, str] = {}
    for code, label in table.items():
        if not LEAVE_TYPE.match(code):
            fail(("leave_types", code), "must be a lower-case code such as annual or sick_leave")
        elif not isinstance(label, str) or not label.strip():
            fail(("leave_types", code), "must be the leave type's name as people say it")
        else:
            leave_types[code] = label.strip()
    if not leave_types and given:
        fail(("leave_types",), "names no leave type")
    return leave_types


def read_leave_type_names(value, fail: Callable[[tuple, str], None], leave_types: dict[str, str],
                          languages: set[str],
                          aliases: dict[str, list[str]] | None = None) -> dict[str, dict[str, str]]:
    """The table, checked: each key a language the company uses, each of its keys a leave type of the profile,
    each name a text, or a list whose first is the name and the rest other words for the type ("krank"), added
    to `aliases` (code -> words). Problems go to fail(path, message) like the rest of the profile's."""
    aliases = {} if aliases is None else aliases
    where = ("leave_type_names",)
    if not isinstance(value, dict):
        fail(where, 'must be a table per language, such as [leave_type_names.de] annual = "Jahresurlaub"')
        return {}
    found: dict[str, dict[str, str]] = {}
    for language, names in value.items():
        if language not in languages:
            fail(where + (language,), f"is not one of company.languages ({', '.join(sorted(languages))})")
            continue
        if not isinstance(names, dict):
            fail(where + (language,), "must be a table of leave type = name")
            continue
        found[language] = {}
        for code, name in names.items():
            listed = name if isinstance(name, list) else [name]
            if code not in leave_types:
                fail(where + (language, code), "is not one of the profile's leave_types")
            elif not listed or not all(isinstance(n, str) and n.strip() for n in listed):
                fail(where + (language, code), "must be the leave type's name in that language (or a list: the "
                                               "name, then other words people use for it)")
            else:
                found[language][code] = listed[0].strip()
                if len(listed) > 1:
                    aliases.setdefault(code, []).extend(n.strip() for n in listed[1:])
    return found


def read_texts_in(value, fail: Callable[[tuple, str], None], where: tuple, languages: set[str],
                  what: str) -> dict[str, str]:
    """A table of language code = text (`[company.hr_contact_in]`): each key a language the company uses."""
    if not isinstance(value, dict):
        fail(where, f'must be a table of language = {what}, such as de = "..."')
        return {}
    found: dict[str, str] = {}
    for language, text in value.items():
        if language not in languages:
            fail(where + (language,), f"is not one of company.languages ({', '.join(sorted(languages))})")
        elif not isinstance(text, str) or not text.strip():
            fail(where + (language,), f"must be the {what} in that language")
        else:
            found[language] = text.strip()
    return found
