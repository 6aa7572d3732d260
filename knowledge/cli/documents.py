"""`hrbot ingest|search|docs|remove|reembed|sync`: the knowledge base."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from knowledge.cli.common import checked_audience, cli_actor, echo_json, progress_bars, runtime_of
from knowledge.desks.admins import AdminDesk
from knowledge.runtime import SAMPLE_DOCS


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--samples", is_flag=True, help="Also ingest the sample company's documents shipped with hrbot.")
@click.option("--audience", default=None, help="Limit the documents to one location (a code from the company profile); default everyone.")
@click.option("--uploaded-by", default=None, help="Recorded as the uploader (default: the CLI user).")
@click.option("--effective", default=None, metavar="YYYY-MM-DD",
              help="The day this version takes effect: added beside the version in force until then.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_context
def ingest(ctx, paths, samples, audience, uploaded_by, effective, as_json) -> None:
    """Ingest files and folders (PDF, DOCX, Markdown, HTML, text) into the knowledge base.

    Unchanged files are skipped; a changed file replaces its previous version atomically (without --effective:
    the version in force today); a bad file is reported with the reason and the rest of the batch goes on.
    """
    from knowledge.documents.ingest import summarise
    from knowledge.documents.versions import parse_effective
    from knowledge.errors import DocumentRejected

    try:
        effective = parse_effective(effective)
    except DocumentRejected as exc:
        raise click.BadParameter(str(exc), param_hint="--effective") from None

    targets = list(paths) + ([SAMPLE_DOCS] if samples else [])
    if not targets:
        raise click.UsageError("Name at least one file or folder, or pass --samples.")
    rt = runtime_of(ctx)
    audience = checked_audience(rt, audience)
    started = time.perf_counter()
    results = rt.ingestor.ingest_paths(
        targets, audience=audience, uploaded_by=uploaded_by or cli_actor(),
        progress_for=progress_bars(not as_json and sys.stderr.isatty()), effective=effective)
    summary = summarise(results, time.perf_counter() - started)
    if as_json:
        echo_json({"results": [r.as_dict() for r in results], "summary": summary})
    else:
        for r in results:
            if r.status in ("added", "replaced"):
                pages = f", {r.pages} pages" if r.pages else ""
                dated = f", in force from {r.effective_from}" if r.effective_from else ""
                click.echo(f"  {r.status:9} {r.source} (v{r.version}{dated}{pages}, {r.chunks} chunks, "
                           f"{r.seconds:.1f}s)")
            elif r.status == "unchanged":
                click.echo(f"  {'unchanged':9} {r.source}: already up to date")
            else:
                click.echo(f"  {r.status:9} {r.source}: {r.reason}")
        click.echo(
            f"{summary['documents']} files: {summary['added']} added, {summary['replaced']} replaced, "
            f"{summary['unchanged']} unchanged, {summary['rejected']} rejected; {summary['pages']} pages, "
            f"{summary['chunks']} chunks in {summary['seconds']:.1f}s")
    if summary["rejected"]:
        ctx.exit(1)


@click.command()
@click.argument("query")
@click.option("--k", "k", default=5, show_default=True, type=click.IntRange(1, 50), help="Number of hits.")
@click.option("--mode", type=click.Choice(["hybrid", "vector", "fulltext", "rrf"]), default="hybrid", show_default=True,
              help="hybrid (the product), or one side alone, or reciprocal-rank fusion for comparison.")
@click.option("--audience", default=None, help="Search as someone at this location (a code from the company profile).")
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@click.pass_context
def search(ctx, query, k, mode, audience, as_json) -> None:
    """Search the knowledge base (hybrid vector + full-text retrieval)."""
    rt = runtime_of(ctx)
    audience = checked_audience(rt, audience)
    audiences = [audience] if audience else None
    hits = rt.searcher.search(query, k, mode=mode, audiences=audiences)
    if as_json:
        echo_json([h.as_json() for h in hits])
        return
    if not hits:
        click.echo("No matching passages. Is anything ingested? Try `hrbot ingest --samples`.")
    for i, h in enumerate(hits, start=1):
        where = f"p. {h.page}" if h.page else h.section or "-"
        if h.page and h.section:
            where = f"{h.section}, p. {h.page}"
        click.echo(f"[{i}] {h.source} ({where})  score {h.score:.4f}")
        click.echo("    " + (h.text[:300] + ("..." if len(h.text) > 300 else "")).replace("\n", "\n    "))


@click.command("docs")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def docs(ctx, as_json) -> None:
    """List the documents in the knowledge base: each live version, the dates it is in force and whether it
    answers today."""
    rows = AdminDesk(runtime_of(ctx)).documents()
    if as_json:
        echo_json(rows)
        return
    for d in rows:
        click.echo(f"{d['source']:40} v{d['version']:<3} {d['chunk_count']:>5} chunks  "
                   f"{d['audience'] or 'everyone':8} {d['title']}  {in_force_text(d)}")
    if not rows:
        click.echo("The knowledge base is empty.")


def in_force_text(d: dict) -> str:
    """"in force from 2027-04-01 (scheduled)", "in force until 2027-04-01 (now)": a version's dates."""
    since = f"from {d['effective_from']}" if d.get("effective_from") else "since always"
    until = f" until {d['effective_until']}" if d.get("effective_until") else ""
    now = " (now)" if d.get("in_force") else (" (scheduled)" if d.get("effective_from") and not until else "")
    return f"in force {since}{until}{now}"


@click.command()
@click.argument("source")
@click.option("--version", type=int, default=None, help="Only this version (`hrbot docs` lists them); default all.")
@click.pass_context
def remove(ctx, source, version) -> None:
    """Remove a document (by file name) from the knowledge base, effective immediately: every version, or one."""
    AdminDesk(runtime_of(ctx)).remove(source, actor=cli_actor(), version=version)
    if version is None:
        click.echo(f"Removed {source}; answers no longer cite it.")
    else:
        click.echo(f"Removed version {version} of {source}; the others still answer for their dates.")


@click.command()
@click.pass_context
def reembed(ctx) -> None:
    """Re-embed every chunk and its stored sentences with the configured embedding model (after changing
    HRBOT_EMBEDDINGS), give passages without one their multilingual vector, and store the sentences of passages
    stored without them."""
    from knowledge.search import sentences
    from knowledge.search.reembed import fill_multilingual, reembed as run

    rt = runtime_of(ctx)
    result = run(rt.db, rt.embeddings)
    click.echo(f"Re-embedded {result['chunks']} chunks with {result['model']} ({result['dimension']} dimensions), "
               f"and their {result['sentences']} stored sentences.")
    filled = fill_multilingual(rt.db, rt.multilingual)
    if filled:
        click.echo(f"Added the multilingual vector to {filled} chunks that lacked it.")
    stored = sentences.fill(rt.db, rt.embeddings, rt.multilingual)
    if stored:
        click.echo(f"Stored the sentences of {stored} chunks that lacked them.")


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--audience", default=None, help="Limit the folder's documents to one location (a code from the company profile).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def sync(ctx, folder, audience, as_json) -> None:
    """Make the knowledge base match FOLDER: ingest new and changed files, retire files that disappeared, and
    import the CSV exports in it as records (employees first).

    Only documents this folder added are ever retired. Safe to run from cron: an overlapping run of the same
    folder exits at once.
    """
    rt = runtime_of(ctx)
    result, records = AdminDesk(rt).sync_folder(folder.resolve(), audience=checked_audience(rt, audience))
    if as_json:
        echo_json({"folder": result.folder, "busy": result.skipped_busy, "retired": result.retired,
                    "results": [r.as_dict() for r in result.results],
                    "records": [{"file": r.name, "kind": r.result.kind if r.result else None,
                                 "rows": r.result.rows if r.result else None,
                                 "changed": r.result.changed if r.result else None, "error": r.error}
                                for r in records]})
    elif result.skipped_busy:
        click.echo(f"Another sync of {result.folder} is running; nothing done.")
    else:
        counts = {s: sum(r.status == s for r in result.results)
                  for s in ("added", "replaced", "unchanged", "rejected", "failed")}
        for r in result.results:
            if r.status in ("rejected", "failed", "skipped"):
                click.echo(f"  {r.status:9} {r.source}: {r.reason}")
        click.echo(f"{result.folder}: {counts['added']} added, {counts['replaced']} replaced, "
                   f"{counts['unchanged']} unchanged, {counts['rejected'] + counts['failed']} rejected, "
                   f"{len(result.retired)} retired" + (f" ({', '.join(result.retired)})" if result.retired else ""))
        for r in records:
            click.echo(f"  records   {r.name}: {r.result.rows} {r.result.kind} rows, {r.result.changed} changed"
                       if r.result else f"  rejected  {r.name}: {r.error}")
    if any(r.status in ("rejected", "failed") for r in result.results) or any(r.error for r in records):
        ctx.exit(1)
