"""`hrbot eval`: quality measurements."""
from __future__ import annotations

from pathlib import Path

import click

from knowledge.cli.common import echo_json, runtime_of
from knowledge.errors import HRBotError


@click.group("eval")
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
    from knowledge.search.evaluation import EVAL_SET, evaluate, load_questions, missing_sources

    rt = runtime_of(ctx)
    questions = load_questions(path or EVAL_SET)
    missing = missing_sources(rt.searcher, questions)
    if missing:
        raise HRBotError("The gold set cites documents that are not ingested: " + ", ".join(missing)
                         + ". For the sample set run `hrbot ingest --samples` first.")
    report = evaluate(rt.searcher, questions, k=k)
    if as_json:
        echo_json(report)
        return
    click.echo(f"{report['questions']} questions, top {k}")
    click.echo(f"{'mode':10} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'MRR':>6}")
    for mode, m in report["modes"].items():
        click.echo(f"{mode:10} {m['hit@1']:6.3f} {m['hit@3']:6.3f} {m['hit@5']:6.3f} {m['mrr']:6.3f}")
