"""`hrbot profile check`: what hrbot understood from a company profile, in words."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from knowledge.cli.common import runtime_of


@click.group("profile")
def profile_group() -> None:
    """The company profile (HRBOT_PROFILE): locations, leave types and leave rules."""


@profile_group.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def profile_check(ctx, file) -> None:
    """Validate a profile (default: HRBOT_PROFILE) and print what it says: locations, holidays, rules per
    location in words. An invalid profile lists every problem with its line, and exits with status 1."""
    from knowledge.profile.load import load_profile

    path = file or runtime_of(ctx).configured.profile_path
    profile = load_profile(path)
    click.echo(f"{path}: valid.")
    click.echo(f"Company: {profile.name}")
    click.echo(f"HR contact: {profile.hr_contact}")
    for code, contact in profile.hr_contact_in.items():
        click.echo(f"HR contact ({code}): {contact}")
    click.echo(f"Talk to HR posts to: {profile.escalation_channel or '(none: set company.escalation_channel or HRBOT_ESCALATION_CHANNEL)'}")
    click.echo("Leave types: " + ", ".join(f"{code} ({label})" for code, label in profile.leave_types.items()))
    r = profile.reminders
    zones = "".join(f", {code} {zone}" for code, zone in sorted(r.time_zones.items()))
    click.echo(f"Reminders: offered, {r.weeks_before} weeks before, at {r.hour}:00 local time (default time zone "
               f"{r.time_zone}{zones})" if r.enabled else "Reminders: not offered ([reminders] enabled = true offers them)")
    if profile.not_names:
        click.echo("Not people's names: " + ", ".join(sorted(profile.not_names)))
    if profile.closures:
        click.echo("Company closure days (no leave needed): " + ", ".join(_said(d) for d in profile.closures))
    for language in profile.languages:
        click.echo(languages_line(language))
    named = ", ".join(profile.label(t) for t in sorted(profile.team_view_types)) or "none"
    click.echo(f"Leave types a manager's team view names (any other is shown as off): {named}")
    year = date.today().year
    for code, loc in profile.locations.items():
        click.echo("")
        click.echo(f"{code}: {loc.name}" + (f" (also: {', '.join(loc.aliases)})" if loc.aliases else ""))
        if loc.holidays_country:
            found = loc.public_holidays([year])
            region = f"-{loc.holidays_subdivision}" if loc.holidays_subdivision else ""
            click.echo(f"  public holidays: {loc.holidays_country}{region} from the holidays library, "
                       f"{len(found)} in {year}, plus any imported for {code}")
        else:
            click.echo(f"  public holidays: only those imported for {code}")
        if not loc.leave:
            click.echo("  no leave rules: no balances are computed here")
        for leave_type, rules in loc.leave.items():
            click.echo("  " + rules.describe(profile.label(leave_type)))
            for blackout in rules.blackout:
                click.echo(f"    blackout: {blackout.describe()}")
            for override in loc.overrides.get(leave_type, ()):
                who = override.employment_type or f"department {override.department}"
                changed = ", ".join("not covered" if (k, v) == ("eligible", False) else f"{k} = {v}"
                                    for k, v in override.changes.items())
                click.echo(f"    for {who}: {changed}")


def _said(day) -> str:
    """A closure day as written in the profile: every year ("24 December") or once ("31 December 2026")."""
    return f"{day.day} {day:%B %Y}" if isinstance(day, date) else f"{day[1]} {date(2001, day[0], 1):%B} every year"


def languages_line(language) -> str:
    """A language and the [facts]/[display] keys its pack lacks (those lines of the asker's facts are written in
    English)."""
    from knowledge.profile.wording import wording

    missing = wording(language).missing
    said = f"Language {language.code} ({language.name})"
    if not missing:
        return said + ": every fact has its words"
    return said + f": facts in English where the pack lacks {len(missing)} key(s): " + ", ".join(missing)
