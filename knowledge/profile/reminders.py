"""The company's reminder settings (`[reminders]` in the profile): whether employees may ask for a DM some weeks
before their carried-over days lapse or their leave year ends with days unused, how many weeks before, at which
local hour, and the time zone of each location for people whose Slack profile gives none."""
from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

KEYS = {"enabled", "weeks_before", "hour", "time_zone", "time_zones"}
MAX_WEEKS = 26


@dataclass(frozen=True)
class ReminderSettings:
    enabled: bool = False           # off unless the company turns it on: each person still has to opt in
    weeks_before: int = 4           # how long before the carry-over's expiry and the leave year's end
    hour: int = 10                  # the local hour the DM goes out (on a working day)
    time_zone: str = "UTC"          # when neither Slack nor the person's location gives one
    time_zones: dict[str, str] = field(default_factory=dict)  # location code -> IANA time zone

    def zone_for(self, slack_tz: str | None, location_code: str | None) -> ZoneInfo:
        """The person's Slack time zone, else their location's, else the company's."""
        for name in (slack_tz, self.time_zones.get((location_code or "").upper()), self.time_zone):
            zone = zone_named(name)
            if zone is not None:
                return zone
        return ZoneInfo("UTC")


def zone_named(name: str | None) -> ZoneInfo | None:
    if not isinstance(name, str) or not name.strip():
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def read_reminders(raw, fail, path: tuple, location_codes) -> ReminderSettings:
    """[reminders] checked key by key; fail(path, message) reports a problem with its line (profile/load.py)."""
    if not isinstance(raw, dict):
        fail(path, "must be a table")
        return ReminderSettings()
    for key in raw:
        if key not in KEYS:
            fail(path + (key,), f"is not a known key here (known: {', '.join(sorted(KEYS))})")
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        fail(path + ("enabled",), f"must be true or false (got {enabled!r})")
        enabled = False
    weeks = _whole(raw, "weeks_before", 4, 1, MAX_WEEKS, fail, path)
    hour = _whole(raw, "hour", 10, 0, 23, fail, path)
    time_zone = raw.get("time_zone", "UTC")
    if zone_named(time_zone) is None:
        fail(path + ("time_zone",), f"must be an IANA time zone such as Asia/Tokyo (got {time_zone!r})")
        time_zone = "UTC"
    zones = raw.get("time_zones", {})
    if not isinstance(zones, dict):
        fail(path + ("time_zones",), "must be a table of location code = time zone")
        zones = {}
    checked = {}
    for code, name in zones.items():
        if code not in location_codes:
            fail(path + ("time_zones", code), "is not one of the profile's locations")
        elif zone_named(name) is None:
            fail(path + ("time_zones", code), f"must be an IANA time zone such as America/Chicago (got {name!r})")
        else:
            checked[code] = name.strip()
    return ReminderSettings(enabled, weeks, hour, time_zone, checked)


def _whole(raw: dict, key: str, default: int, low: int, high: int, fail, path: tuple) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        fail(path + (key,), f"must be a whole number from {low} to {high} (got {value!r})")
        return default
    return value
