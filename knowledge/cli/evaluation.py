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


@eval_group.command("answers")
@click.option("--file", "path", type=click.Path(exists=True, path_type=Path), default=None,
              help="A JSONL gold set (default: the one shipped for the sample content).")
@click.option("--limit", type=click.IntRange(1, 10000), default=None, help="Only the first N questions.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def eval_answers(ctx, path, limit, as_json) -> None:
    """Groundedness and citation correctness of the configured chat model's answers on a gold set. Without a
    chat model (OPENAI_BASE_URL / OPENAI_API_KEY) there is nothing to evaluate: it says so and exits 0."""
    from knowledge.answering.evaluation import evaluate_answers
    from knowledge.search.evaluation import EVAL_SET, load_questions, missing_sources

    rt = runtime_of(ctx)
    if rt.llm is None:
        click.echo("No chat model is configured (OPENAI_BASE_URL or OPENAI_API_KEY), so there is nothing to "
                   "evaluate; the offline answerer quotes passages.")
        return
    questions = load_questions(path or EVAL_SET)[:limit]
    missing = missing_sources(rt.searcher, questions)
    if missing:
        raise HRBotError("The gold set cites documents that are not ingested: " + ", ".join(missing) + ".")
    report = evaluate_answers(rt.answers, questions, rt.searcher)
    if as_json:
        echo_json(report)
        return
    click.echo(f"{report['questions']} questions with {rt.settings.chat_model}: answered {report['answered']:.3f}, "
               f"groundedness {report['groundedness']:.3f}, citation precision {report['citation_precision']:.3f}, "
               f"cites the gold document {report['cites_gold_document']:.3f}")
