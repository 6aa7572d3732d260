"""The `hrbot` command line: the admin's and the scripts' interface to the same core the Slack bot uses."""
from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import click

from knowledge.errors import HRBotError
from knowledge.runtime import SAMPLE_DOCS, Runtime
from knowledge.settings import Settings


def _runtime(ctx: click.Context) -> Runtime:
    return ctx.find_root().obj


def _cli_actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def _echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """HR assistant: cited answers from HR documents and the asker's own records.

    Configuration comes from the environment and an optional .env file; see README.md.
    """
    if ctx.obj is None:  # tests hand in a ready Runtime
        settings = Settings.from_env()
        logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        ctx.obj = Runtime(settings)
        ctx.call_on_close(ctx.obj.close)


# --- database ----------------------------------------------------------------------------------------------

@cli.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending migrations (infra/migrations, shipped in the package); safe to run repeatedly."""
    from knowledge.db import upgrade

    applied = upgrade(_runtime(ctx).unmigrated_db().url)
    click.echo("Applied: " + ", ".join(applied) if applied else "Database schema is up to date.")


@db.command("status")
@click.pass_context
def db_status(ctx: click.Context) -> None:
    """List migrations and whether each is applied."""
    from knowledge.db import migration_status

    for name, applied in migration_status(_runtime(ctx).unmigrated_db().url):
        click.echo(f"{'applied' if applied else 'pending':8} {name}")


# --- knowledge ---------------------------------------------------------------------------------------------

def _progress_bar_factory(enabled: bool):
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


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--samples", is_flag=True, help="Also ingest the sample company's documents shipped with hrbot.")
@click.option("--audience", default=None, help="Limit the documents to one country (e.g. GB, DE); default everyone.")
@click.option("--uploaded-by", default=None, help="Recorded as the uploader (default: the CLI user).")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_context
def ingest(ctx, paths, samples, audience, uploaded_by, as_json) -> None:
    """Ingest files and folders (PDF, DOCX, Markdown, HTML, text) into the knowledge base.

    Unchanged files are skipped; a changed file replaces its previous version atomically; a bad file is
    reported with the reason and the rest of the batch goes on.
    """
    import getpass

    from knowledge.ingest import summarise

    targets = list(paths) + ([SAMPLE_DOCS] if samples else [])
    if not targets:
        raise click.UsageError("Name at least one file or folder, or pass --samples.")
    rt = _runtime(ctx)
    started = time.perf_counter()
    results = rt.ingestor.ingest_paths(
        targets, audience=audience, uploaded_by=uploaded_by or f"cli:{getpass.getuser()}",
        progress_for=_progress_bar_factory(not as_json and sys.stderr.isatty()))
    summary = summarise(results, time.perf_counter() - started)
    if as_json:
        _echo_json({"results": [r.as_dict() for r in results], "summary": summary})
    else:
        for r in results:
            if r.status in ("added", "replaced"):
                pages = f", {r.pages} pages" if r.pages else ""
                click.echo(f"  {r.status:9} {r.source} (v{r.version}{pages}, {r.chunks} chunks, {r.seconds:.1f}s)")
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


@cli.command()
@click.argument("query")
@click.option("--k", "k", default=5, show_default=True, type=click.IntRange(1, 50), help="Number of hits.")
@click.option("--mode", type=click.Choice(["hybrid", "vector", "fulltext", "rrf"]), default="hybrid", show_default=True,
              help="hybrid (the product), or one side alone, or reciprocal-rank fusion for comparison.")
@click.option("--audience", default=None, help="Search as someone in this country (e.g. GB, DE).")
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@click.pass_context
def search(ctx, query, k, mode, audience, as_json) -> None:
    """Search the knowledge base (hybrid vector + full-text retrieval)."""
    rt = _runtime(ctx)
    audiences = [audience.upper()] if audience else None
    hits = rt.searcher.search(query, k, mode=mode, audiences=audiences)
    if as_json:
        _echo_json([h.as_json() for h in hits])
        return
    if not hits:
        click.echo("No matching passages. Is anything ingested? Try `hrbot ingest --samples`.")
    for i, h in enumerate(hits, start=1):
        where = f"p. {h.page}" if h.page else h.section or "-"
        if h.page and h.section:
            where = f"{h.section}, p. {h.page}"
        click.echo(f"[{i}] {h.source} ({where})  score {h.score:.4f}")
        click.echo("    " + (h.text[:300] + ("..." if len(h.text) > 300 else "")).replace("\n", "\n    "))


@cli.command("docs")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def docs(ctx, as_json) -> None:
    """List the documents in the knowledge base."""
    from knowledge.store import list_documents

    with _runtime(ctx).db.connection() as conn:
        rows = list_documents(conn)
    if as_json:
        _echo_json(rows)
        return
    for d in rows:
        click.echo(f"{d['source']:40} v{d['version']:<3} {d['chunk_count']:>5} chunks  "
                   f"{d['audience'] or 'everyone':8} {d['title']}")
    if not rows:
        click.echo("The knowledge base is empty.")


@cli.command()
@click.argument("source")
@click.pass_context
def remove(ctx, source) -> None:
    """Remove a document (by file name) from the knowledge base, effective immediately."""
    _runtime(ctx).ingestor.remove(source, actor=_cli_actor())
    click.echo(f"Removed {source}; answers no longer cite it.")


@cli.command()
@click.pass_context
def reembed(ctx) -> None:
    """Re-embed every chunk with the configured embedding model (after changing HRBOT_EMBEDDINGS)."""
    from knowledge.reembed import reembed as run

    rt = _runtime(ctx)
    result = run(rt.db, rt.embeddings)
    click.echo(f"Re-embedded {result['chunks']} chunks with {result['model']} ({result['dimension']} dimensions).")


# --- records and answers -----------------------------------------------------------------------------------

@cli.group()
def records() -> None:
    """Employee records (profiles, leave entitlements, leave history, public holidays)."""


@records.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def records_import(ctx, files) -> None:
    """Import HRIS CSV exports: employees, entitlements, leave or public_holidays (told apart by their header).

    Every row is validated first; any error (reported with its line number) means nothing is written.
    Re-importing the same file changes nothing.
    """
    from knowledge.records import import_csv

    rt = _runtime(ctx)
    for path in files:
        try:
            result = import_csv(rt.db, path.read_bytes(), actor=_cli_actor(), name=path.name)
        except HRBotError as exc:
            raise HRBotError(f"{path.name}: {exc}") from None
        click.echo(f"{path.name}: {result.rows} {result.kind} rows, {result.changed} changed")


@cli.command()
@click.argument("question")
@click.option("--as", "slack_user_id", required=True, help="The Slack user id asking (e.g. U0SAMPLE).")
@click.option("--email", default=None, help="Their work email from Slack, to link an employee record.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Answer as of this date (to reproduce an earlier answer).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def ask(ctx, question, slack_user_id, email, today, as_json) -> None:
    """Answer a question exactly as that Slack user would get it."""
    from knowledge.answers import Asker

    answer = _runtime(ctx).answers.answer(question, Asker(slack_user_id, email),
                                          today=today.date() if today else None)
    if as_json:
        _echo_json(answer.as_json())
        return
    click.echo(_render_text(answer))


def _render_text(answer) -> str:
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            where = ", ".join(x for x in (c.section, f"page {c.page}" if c.page else "") if x)
            lines.append(f"  [{c.n}] {c.title} ({c.source}{': ' + where if where else ''})")
    if answer.notice:
        lines += ["", f"Note: {answer.notice}"]
    return "\n".join(lines)


# --- evaluation --------------------------------------------------------------------------------------------

@cli.group("eval")
def eval_group() -> None:
    """Quality measurements."""


@eval_group.command("retrieval")
@click.option("--file", "path", type=click.Path(exists=True, path_type=Path), default=None,
              help="A JSONL gold set (default: the one shipped for the sample content).")
@click.option("--k", "k", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def eval_retrieval(ctx, path, k, as_json) -> None:
    """hit@1/3/5 and MRR for vector-only, full-text-only and hybrid retrieval on a gold question set."""
    from knowledge.evaluation import EVAL_SET, evaluate, load_questions, missing_sources

    rt = _runtime(ctx)
    questions = load_questions(path or EVAL_SET)
    missing = missing_sources(rt.searcher, questions)
    if missing:
        raise HRBotError("The gold set cites documents that are not ingested: " + ", ".join(missing)
                         + ". For the sample set run `hrbot ingest --samples` first.")
    report = evaluate(rt.searcher, questions, k=k)
    if as_json:
        _echo_json(report)
        return
    click.echo(f"{report['questions']} questions, top {k}")
    click.echo(f"{'mode':10} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'MRR':>6}")
    for mode, m in report["modes"].items():
        click.echo(f"{mode:10} {m['hit@1']:6.3f} {m['hit@3']:6.3f} {m['hit@5']:6.3f} {m['mrr']:6.3f}")


# --- demo --------------------------------------------------------------------------------------------------

@cli.command()
@click.option("--as", "slack_user_id", default=None, help="Chat as this Slack user (default: the sample employee).")
@click.pass_context
def demo(ctx, slack_user_id) -> None:
    """Embedded database + sample content + a terminal chat as a sample employee."""
    from knowledge.answers import Asker
    from knowledge.runtime import SAMPLE_SLACK_USER

    rt = _runtime(ctx)
    click.echo("Preparing the sample company (the first run embeds about 200 passages)...")
    rt.load_samples()
    user = slack_user_id or SAMPLE_SLACK_USER
    mode = "chat model " + rt.settings.chat_model if rt.llm is not None else "offline answerer (no chat model set)"
    click.echo(f"Ready: you are {user}, answers by the {mode}. Try \"How much annual leave do I have?\" "
               "Empty line or Ctrl-D quits.")
    history: list[tuple[str, str]] = []
    while True:
        try:
            question = click.prompt("you", default="", show_default=False, prompt_suffix="> ")
        except (EOFError, click.Abort):
            break
        if not question.strip():
            break
        answer = rt.answers.answer(question, Asker(user), history=history)
        click.echo("\n" + _render_text(answer) + "\n")
        history += [("user", question), ("assistant", answer.text)]


import knowledge.cli_admin  # noqa: E402,F401  (registers sync, admin and audit on the group above)


def main(argv: list[str] | None = None, obj: Runtime | None = None) -> None:
    """Console entry point: domain errors become one kind line on stderr and exit status 1."""
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting: pass it on to the shell.
        code = cli.main(args=argv, prog_name="hrbot", standalone_mode=False, obj=obj)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except HRBotError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)
