"""What the command modules share: the runtime the root command built, the acting user, JSON and text output."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from knowledge.runtime import Runtime


def runtime_of(ctx: click.Context) -> Runtime:
    return ctx.find_root().obj


def checked_audience(rt: Runtime, audience: str | None) -> str | None:
    """A location code from the company profile (None for everyone); anything else is a usage error."""
    if audience is None or audience.strip().lower() in ("", "all", "everyone"):
        return None
    code = audience.strip().upper()
    if rt.profile.location(code) is None:
        raise click.BadParameter(f"{audience!r} is not a location in the company profile (its locations: "
                                 f"{', '.join(rt.profile.locations)}; or 'all').", param_hint="--audience")
    return code


def cli_actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def render_text(answer) -> str:
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            page = f"page{'s' if '-' in c.pages else ''} {c.pages}" if c.page else ""  # "pages 9-10" over a break
            where = ", ".join(x for x in (c.section, page) if x)
            lines.append(f"  [{c.n}] {c.title} ({c.source}{': ' + where if where else ''})")
    if answer.notice:
        lines += ["", f"Note: {answer.notice}"]
    return "\n".join(lines)


def progress_bars(enabled: bool):
    from tqdm import tqdm

    def for_path(path: Path):
        if not enabled:
            return None
        bar = {"tqdm": None}

        def update(done: int, total: int) -> None:
            if bar["tqdm"] is None:
                if total < 128:  # short documents finish before a bar is worth drawing
                    return
                bar["tqdm"] = tqdm(total=total, desc=path.name[:30], unit="chunk", file=sys.stderr, leave=False)
            bar["tqdm"].n = done
            bar["tqdm"].refresh()
            if done >= total:
                bar["tqdm"].close()

        return update

    return for_path
