"""Reading a company profile (TOML): every key is checked, and every problem is reported with its key and line,
before anything is built. A profile either loads whole or not at all."""
from __future__ import annotations

import re
import tomllib
from dataclasses import fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

from knowledge.errors import ConfigurationError
from knowledge.profile.names import read_leave_type_names, read_leave_types, read_texts_in
from knowledge.profile.days_off import read_blackout, read_closures
from knowledge.profile.language import Language, LanguagePackError, parse_pack, shipped_pack
from knowledge.profile.reminders import ReminderSettings, read_reminders
from knowledge.profile.model import (ACCRUAL_PERIODS, EMPLOYMENT_TYPES, PRO_RATA, ROUNDING, Accrual, CarryOver,
                                     CompanyProfile, Location, LeaveRules, LongServiceStep, Override)

LOCATION_CODE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")
MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
RULE_KEYS = {"year_start", "base_days", "long_service", "pro_rata", "cutoff_day", "rounding", "carry_over",
             "accrual", "unlimited", "eligible", "blackout"}
MAX_DAYS = Decimal(366)


class ProfileError(ConfigurationError):
    """The profile is invalid; `problems` lists 'line N: key: problem' strings."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        listed = "\n".join(f"  {p}" for p in problems[:40])
        more = f"\n  ...and {len(problems) - 40} more" if len(problems) > 40 else ""
        super().__init__(f"The company profile {source} is not valid; nothing was loaded. Fix these:\n{listed}{more}")


def load_profile(path: str | Path) -> CompanyProfile:
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"The company profile {path} does not exist (HRBOT_PROFILE).") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"The company profile {path} cannot be read: {exc}") from None
    return parse_profile(text, source=str(path), path=path)


def parse_profile(text: str, source: str = "profile", path: Path | None = None) -> CompanyProfile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(source, [str(exc)]) from None
    checker = _Checker(text)
    profile = checker.profile(data, path)
    if checker.problems:
        raise ProfileError(source, checker.problems)
    return profile


class _Checker:
    def __init__(self, text: str):
        self.lines = _key_lines(text)
        self.problems: list[str] = []

    def fail(self, path: tuple, message: str) -> None:
        key = ".".join(str(p) for p in path)
        self.problems.append(f"line {self._line(path)}: {key}: {message}")

    def _line(self, path: tuple) -> int:
        for n in range(len(path), 0, -1):  # the key itself, else the nearest table that holds it
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return 1

    # --- typed reads ------------------------------------------------------------------------------------------

    def table(self, data: dict, path: tuple, key: str, required: bool = False) -> dict:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(path + (key,), "is missing")
            return {}
        if not isinstance(value, dict):
            self.fail(path + (key,), "must be a table")
            return {}
        return value

    def unknown(self, data: dict, path: tuple, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                self.fail(path + (key,), f"is not a known key here (known: {', '.join(sorted(allowed))})")

    def text(self, data: dict, path: tuple, key: str, required: bool = False) -> str | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.fail(path + (key,), "is missing")
            return None
        if not isinstance(value, str):
            self.fail(path + (key,), f"must be text (got {value!r})")
            return None
        return value.strip()

    def texts(self, data: dict, path: tuple, key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(path + (key,), "must be a list of non-empty texts")
            return ()
        return tuple(v.strip() for v in value)

    def days(self, data: dict, path: tuple, key: str, positive: bool = False) -> Decimal | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(path + (key,), f"must be a number of days (got {value!r})")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.fail(path + (key,), f"must be a number of days (got {value!r})")
            return None
        if not number.is_finite() or number < 0 or (positive and number == 0) or number > MAX_DAYS:
            self.fail(path + (key,), f"must be {'more than' if positive else 'at least'} 0 and at most 366 "
                                     f"(got {value})")
            return None
        return number

    def flag(self, data: dict, path: tuple, key: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.fail(path + (key,), f"must be true or false (got {value!r})")
            return default
        return value

    def choice(self, data: dict, path: tuple, key: str, options: tuple[str, ...], default: str) -> str:
        value = data.get(key, default)
        if value not in options:
            self.fail(path + (key,), f"must be one of {', '.join(options)} (got {value!r})")
            return default
        return value

    def month_day(self, value, path: tuple) -> tuple[int, int] | None:
        match = MONTH_DAY.match(value) if isinstance(value, str) else None
        if match:
            month, day = int(match.group(1)), int(match.group(2))
            if 1 <= month <= 12 and 1 <= day <= (29 if month == 2 else 30 if month in (4, 6, 9, 11) else 31):
                return month, day
        self.fail(path, f"must be a date in the year as \"MM-DD\", such as \"04-01\" (got {value!r})")
        return None

    # --- the profile ------------------------------------------------------------------------------------------

    def profile(self, data: dict, path: Path | None) -> CompanyProfile:
        self.unknown(data, (), {"company", "leave_types", "leave_type_names", "locations", "language_packs",
                                "reminders"})
        company = self.table(data, (), "company", required=True)
        self.unknown(company, ("company",), {"name", "hr_contact", "hr_contact_in", "escalation_channel",
                                                "not_names", "demo_user", "examples", "languages", "closures",
                                                "team_view_types"})
        name = self.text(company, ("company",), "name", required=True) or ""
        hr_contact = self.text(company, ("company",), "hr_contact", required=True) or ""
        channel = self.text(company, ("company",), "escalation_channel")
        if channel and not re.fullmatch(r"[CG][A-Z0-9]{6,}", channel):
            self.fail(("company", "escalation_channel"), f"must be a Slack channel id such as C0123ABCD (got {channel!r})")
        not_names = self.texts(company, ("company",), "not_names")
        demo_user = self.text(company, ("company",), "demo_user")
        examples = self.texts(company, ("company",), "examples") if "examples" in company else None
        closures = (read_closures(company["closures"], self.fail, ("company", "closures"))
                    if "closures" in company else ())

        leave_types = read_leave_types(self.table(data, (), "leave_types", required=True), self.fail,
                                       "leave_types" in data)
        team_view = self.texts(company, ("company",), "team_view_types")  # named to managers; others are "off"
        for code in sorted(set(team_view) - set(leave_types)):
            self.fail(("company", "team_view_types"), f"{code!r} is not one of the profile's leave_types")

        locations: dict[str, Location] = {}
        raw_locations = self.table(data, (), "locations", required=True)
        if not raw_locations and "locations" in data:
            self.fail(("locations",), "names no location")
        for code, raw in raw_locations.items():
            where = ("locations", code)
            if not LOCATION_CODE.match(code):
                self.fail(where, "must be a location code: two capital letters (ISO country, e.g. FR), optionally "
                                 "with a region (e.g. US-CA)")
                continue
            if not isinstance(raw, dict):
                self.fail(where, "must be a table")
                continue
            locations[code] = self.location(code, raw, where, leave_types)
        names: dict[str, str] = {}
        for code, loc in locations.items():
            for word in (loc.name, *loc.aliases):
                other = names.setdefault(word.lower(), code)
                if other != code:
                    self.fail(("locations", code, "aliases"), f"{word!r} also names {other}: a question naming it "
                                                               "could not be placed")
        languages = self.languages(company, self.table(data, (), "language_packs"))
        reminders = (read_reminders(data["reminders"], self.fail, ("reminders",), set(locations))
                     if "reminders" in data else ReminderSettings())
        codes = {x.code for x in languages}
        aliases: dict[str, list[str]] = {}
        names_in = read_leave_type_names(data.get("leave_type_names", {}), self.fail, leave_types, codes, aliases)
        contact_in = read_texts_in(company.get("hr_contact_in", {}), self.fail, ("company", "hr_contact_in"), codes,
                                   "HR contact")
        profile = CompanyProfile(name, hr_contact, channel, leave_types, locations, frozenset(not_names), demo_user,
                                 path, languages=languages, closures=closures, reminders=reminders,
                                 team_view_types=frozenset(team_view), leave_type_names=names_in,
                                 hr_contact_in=contact_in, leave_type_aliases={k: tuple(v) for k, v in aliases.items()})
        return replace(profile, examples=examples) if examples else profile

    def languages(self, company: dict, packs: dict) -> tuple[Language, ...]:
        """company.languages names the packs employees ask in (default: English), the first being the default;
        [language_packs.CODE] tables add a company's own pack or replace a shipped one."""
        own: dict[str, Language] = {}
        for code, raw in packs.items():
            if not LANGUAGE_CODE.match(code) or not isinstance(raw, dict):
                self.fail(("language_packs", code), "must be a table named by a two-letter language code (ISO 639-1)")
                continue
            try:
                own[code] = parse_pack(code, raw)
            except LanguagePackError as exc:
                self.fail(("language_packs", code), str(exc))
        codes = self.texts(company, ("company",), "languages") if "languages" in company else ("en",)
        if not codes:
            self.fail(("company", "languages"), "names no language")
        chosen = []
        for code in dict.fromkeys(codes):
            if code in own:
                chosen.append(own[code])
                continue
            try:
                chosen.append(shipped_pack(code))
            except LanguagePackError as exc:
                self.fail(("company", "languages"), f"{exc}; or describe it in [language_packs.{code}]")
        return tuple(chosen) or (shipped_pack("en"),)

    def location(self, code: str, raw: dict, where: tuple, leave_types: dict[str, str]) -> Location:
        self.unknown(raw, where, {"name", "aliases", "holidays", "leave"})
        name = self.text(raw, where, "name", required=True) or code
        aliases = self.texts(raw, where, "aliases")
        country = subdivision = None
        if "holidays" in raw:
            holidays_table = self.table(raw, where, "holidays")
            self.unknown(holidays_table, where + ("holidays",), {"country", "subdivision"})
            country = self.text(holidays_table, where + ("holidays",), "country", required=True)
            subdivision = self.text(holidays_table, where + ("holidays",), "subdivision")
            if country:
                self.check_holidays(country, subdivision, where + ("holidays",))
        leave: dict[str, LeaveRules] = {}
        overrides: dict[str, tuple[Override, ...]] = {}
        for leave_type, rules in self.table(raw, where, "leave").items():
            at = where + ("leave", leave_type)
            if leave_type not in leave_types:
                self.fail(at, f"is not one of the profile's leave_types ({', '.join(leave_types)})")
                continue
            if not isinstance(rules, dict):
                self.fail(at, "must be a table")
                continue
            self.unknown(rules, at, RULE_KEYS | {"by_employment_type", "by_department"})
            base = self.rules(leave_type, rules, at, LeaveRules(leave_type), complete=True)
            leave[leave_type] = base
            found = []
            for group, key in (("by_employment_type", "employment_type"), ("by_department", "department")):
                for value, changes in self.table(rules, at, group).items():
                    here = at + (group, value)
                    if group == "by_employment_type" and value not in EMPLOYMENT_TYPES:
                        self.fail(here, f"is not an employment type ({', '.join(EMPLOYMENT_TYPES)})")
                        continue
                    if not isinstance(changes, dict):
                        self.fail(here, "must be a table")
                        continue
                    self.unknown(changes, here, RULE_KEYS)
                    changed = self.rules(leave_type, changes, here, base, complete=False)
                    delta = {f.name: getattr(changed, f.name) for f in fields(LeaveRules) if f.name in changes}
                    found.append(Override(value if key == "employment_type" else None,
                                          value if key == "department" else None, delta))
            overrides[leave_type] = tuple(found)
        return Location(code, name, aliases, country, subdivision, leave, overrides)

    def check_holidays(self, country: str, subdivision: str | None, where: tuple) -> None:
        """The country's own holidays module only: list_supported_countries() imports all of the library's 200+
        countries (0.3-0.6 s of every process that reads the profile)."""
        import holidays

        known = None  # a holidays object is a dict, empty until a year is asked for: test it against None
        if country.isascii() and country.isupper():
            try:
                known = holidays.country_holidays(country)
            except NotImplementedError:
                pass
        if known is None:
            self.fail(where + ("country",), f"{country!r} is not a country the holidays library knows "
                                            "(ISO 3166 codes such as FR, US, IN)")
        elif subdivision and subdivision not in known.subdivisions:
            self.fail(where + ("subdivision",), f"{subdivision!r} is not a subdivision of {country} "
                                                f"({', '.join(known.subdivisions[:30])})")

    def rules(self, leave_type: str, raw: dict, at: tuple, base: LeaveRules, complete: bool) -> LeaveRules:
        values: dict = {}
        if "year_start" in raw:
            start = raw["year_start"]
            values["year_start"] = None if start == "hire_anniversary" else self.month_day(start, at + ("year_start",))
        if "base_days" in raw:
            values["base_days"] = self.days(raw, at, "base_days")
        if "long_service" in raw:
            steps = []
            if not isinstance(raw["long_service"], list):
                self.fail(at + ("long_service",), "must be a list such as [{ after_years = 5, days = 27 }]")
            for i, step in enumerate(raw["long_service"] if isinstance(raw["long_service"], list) else []):
                here = at + ("long_service", i)
                years = step.get("after_years") if isinstance(step, dict) else None
                days = self.days(step, at + ("long_service",), "days") if isinstance(step, dict) else None
                if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= 60 or days is None:
                    self.fail(here, "must be { after_years = <1-60>, days = <days> }")
                    continue
                steps.append(LongServiceStep(years, days))
            values["long_service"] = tuple(sorted(steps, key=lambda s: s.after_years))
        if "pro_rata" in raw:
            values["pro_rata"] = self.choice(raw, at, "pro_rata", PRO_RATA, base.pro_rata)
        if "cutoff_day" in raw:
            cutoff = raw["cutoff_day"]
            if not isinstance(cutoff, int) or isinstance(cutoff, bool) or not 1 <= cutoff <= 28:
                self.fail(at + ("cutoff_day",), f"must be a day of the month from 1 to 28 (got {cutoff!r})")
            else:
                values["cutoff_day"] = cutoff
        if "rounding" in raw:
            values["rounding"] = self.choice(raw, at, "rounding", ROUNDING, base.rounding)
        if "carry_over" in raw:
            carry = raw["carry_over"]
            if carry is False:
                values["carry_over"] = CarryOver(max_days=Decimal(0))
            elif isinstance(carry, dict):
                self.unknown(carry, at + ("carry_over",), {"max_days", "expires"})
                expires = carry.get("expires")
                values["carry_over"] = CarryOver(
                    self.days(carry, at + ("carry_over",), "max_days"),
                    self.month_day(expires, at + ("carry_over", "expires")) if expires is not None else None)
            else:
                self.fail(at + ("carry_over",), "must be false or { max_days = <days>, expires = \"MM-DD\" }")
        if "accrual" in raw:
            accrual = raw["accrual"]
            if isinstance(accrual, dict):
                self.unknown(accrual, at + ("accrual",), {"every", "days", "max_days"})
                days = self.days(accrual, at + ("accrual",), "days", positive=True)
                if days is None and "days" not in accrual:
                    self.fail(at + ("accrual", "days"), "is missing")
                every = self.choice(accrual, at + ("accrual",), "every", ACCRUAL_PERIODS, "month")
                values["accrual"] = Accrual(every, days or Decimal(0),
                                            self.days(accrual, at + ("accrual",), "max_days"))
            else:
                self.fail(at + ("accrual",), "must be { every = \"month\", days = <days> }")
        if "blackout" in raw:
            values["blackout"] = read_blackout(raw["blackout"], self.fail, at + ("blackout",))
        for key in ("unlimited", "eligible"):
            if key in raw:
                values[key] = self.flag(raw, at, key, getattr(base, key))
        rules = LeaveRules(**{**{f.name: getattr(base, f.name) for f in fields(LeaveRules)}, **values})
        if rules.eligible and not rules.unlimited:
            grants = (rules.base_days is not None) + (rules.accrual is not None)
            if grants == 0 and complete and "base_days" not in raw and "accrual" not in raw:  # else: said above
                self.fail(at, "needs base_days (a yearly allowance), accrual, or unlimited = true")
            if grants == 2 and ("base_days" in raw or "accrual" in raw):
                self.fail(at, "has both base_days and accrual: choose a yearly allowance or accrual")
        return rules


def _key_lines(text: str) -> dict[tuple, int]:
    """The line each key and table is written on, by its full path (arrays of tables get their index)."""
    lines: dict[tuple, int] = {}
    current: tuple = ()
    arrays: dict[tuple, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[["):
            name = _dotted(stripped[2:stripped.index("]]")])
            arrays[name] = arrays.get(name, -1) + 1
            current = name + (arrays[name],)
            lines.setdefault(name, number)
            lines.setdefault(current, number)
            continue
        if stripped.startswith("["):
            current = _dotted(stripped[1:stripped.index("]")])
            for n in range(1, len(current) + 1):
                lines.setdefault(current[:n], number)
            continue
        if "=" in stripped:
            key = _dotted(stripped.split("=", 1)[0])
            for n in range(1, len(key) + 1):
                lines.setdefault(current + key[:n], number)
    return lines


def _dotted(key: str) -> tuple:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([^.\s]+)', key.strip())
    return tuple(a or b or c for a, b, c in parts)
