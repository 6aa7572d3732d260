"""The answer chain (LangChain LCEL): condense -> embed -> {policy passages, the asker's facts} -> respond."""
from __future__ import annotations

import logging
import re
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough

from knowledge.operations import admin
from knowledge.answering.answers import (OFFLINE_NOTE, REFUSAL, SUPPORT_THRESHOLD, Answer, Asker, about_someone_else,
                               check_citations, extractive_answer, guard_personal_numbers, not_found_text)
from knowledge.people.personal import RecordsRetriever
from knowledge.people.records import RecordsReader
from knowledge.search.retrieval import HybridSearcher, PolicyRetriever
from knowledge.settings import Settings

log = logging.getLogger(__name__)

PROMPTS = Path(__file__).resolve().parent / "prompts"
NO_RECORD = ("No HR record is linked to your Slack account yet, so I answered from the policies only. "
             "Ask HR to add your Slack ID or work email to your employee record.")
MODEL_DOWN = "_The AI model is not answering right now, so here are the most relevant passages instead._"
QUOTED_NOTE = "_These are the most relevant policy passages, quoted; check the cited source for the full rule._"
COUNTRY_NAMES = {"GB": "UK", "DE": "Germany"}
COUNTRY_MENTION = re.compile(r"\b(uk|u\.k\.|britain|british|england|london|manchester|germany|german|berlin|"
                             r"deutschland|gmbh|ltd)\b", re.I)
COUNTRY_HEADINGS = {"GB": re.compile(r"\b(uk|u\.k\.|united kingdom|england|britain|british)\b", re.I),
                    "DE": re.compile(r"\b(germany|german|berlin|gmbh|deutschland)\b", re.I)}
FOLLOW_UP = re.compile(r"^(and|but|also|what about|how about|what if|same|ok|so|then)\b", re.I)
REFERS_BACK = re.compile(r"\b(it|that|this|those|them|there|these)\b", re.I)


def build_chat_model(settings: Settings):
    """ChatOpenAI against any OpenAI-compatible server, or None (the offline answerer) when none is set up."""
    if not settings.chat_configured:
        return None
    from langchain_openai import ChatOpenAI

    field = settings.chat_max_tokens_field
    if field not in ("max_tokens", "max_completion_tokens"):
        from knowledge.errors import ConfigurationError

        raise ConfigurationError("HRBOT_CHAT_MAX_TOKENS_FIELD must be max_tokens or max_completion_tokens.")
    # The limit goes in the body under the field the server understands (langchain-openai always sends
    # max_completion_tokens, which some OpenAI-compatible servers reject).
    return ChatOpenAI(model=settings.chat_model, api_key=settings.openai_api_key or "not-needed",
                      base_url=settings.openai_base_url, timeout=settings.chat_timeout, max_retries=1,
                      temperature=0, extra_body={field: settings.chat_max_tokens})


class AnswerService:
    """Answers one employee's question from policy passages and their own records."""

    def __init__(self, searcher: HybridSearcher, records: RecordsReader, settings: Settings, llm=None, k: int = 4):
        self.searcher = searcher
        self.records = records
        self.settings = settings
        self.llm = llm
        self.k = k
        self.prompt = ChatPromptTemplate.from_messages([
            ("system", (PROMPTS / "system.txt").read_text()), ("human", (PROMPTS / "user.txt").read_text())])
        self.condense_prompt = ChatPromptTemplate.from_messages([("human", (PROMPTS / "condense.txt").read_text())])

    def answer(self, question: str, asker: Asker, history: list[tuple[str, str]] | None = None,
               today: date | None = None) -> Answer:
        return self._answer(question, asker, history, today, for_channel=False)[0]

    def answer_with_channel_copy(self, question: str, asker: Asker, history: list[tuple[str, str]] | None = None,
                                 today: date | None = None) -> tuple[Answer, Answer]:
        """The asker's full answer and, from the same retrieval (no second model call), a copy fit for a
        channel: the policy part alone, without the asker's records or any notice about them."""
        return self._answer(question, asker, history, today, for_channel=True)

    def _answer(self, question: str, asker: Asker, history: list[tuple[str, str]] | None, today: date | None,
                for_channel: bool) -> tuple[Answer, Answer | None]:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        today = today or date.today()
        question = " ".join(question.split())
        with _timed(timings, "records"):
            employee_id = self.records.resolve(asker.slack_user_id, asker.email or asker.email_lookup)
            personal = self.records.load(employee_id) if employee_id else None
        own_ids = {x for x in (employee_id, asker.slack_user_id, asker.email) if x}
        own_names = set(personal.employee.name.split()) if personal else set()
        if personal:
            own_ids.add(personal.employee.email)
        if personal is not None:
            admin.record(self.records.db, asker.slack_user_id or asker.email or "unknown", "read_records",
                         employee_id)
        if about_someone_else(question, own_names, own_ids):
            refusal = Answer(REFUSAL.format(hr_contact=self.settings.hr_contact), supported=True, kind="refused",
                             timings=_finish(timings, started))
            return refusal, replace(refusal) if for_channel else None
        chain = self._chain(personal, today, timings, country=personal.employee.country if personal else None,
                            for_channel=for_channel)
        answer, channel = chain.invoke({"question": question, "history": history or []})
        answer.employee_id = employee_id
        if personal is None:
            answer.notice = NO_RECORD
        answer.timings = _finish(timings, started)
        return answer, channel

    # --- the LCEL chain ---------------------------------------------------------------------------------------

    def _chain(self, personal, today: date, timings: dict, country: str | None, for_channel: bool):
        audiences = [country] if country else None
        policy = PolicyRetriever(searcher=self.searcher, k=self.k, audiences=audiences)
        facts = RecordsRetriever(records=personal, today=today)

        def search_query(x) -> str:
            # Policies differ by country: name the asker's in the search unless the question names one.
            name = COUNTRY_NAMES.get(country or "")
            if name and not COUNTRY_MENTION.search(x["standalone"]):
                return f"{x['standalone']} ({name})"
            return x["standalone"]

        def embed(x):
            with _timed(timings, "embed"):
                return np.asarray(self.searcher.embeddings.embed_query(x["search"]), dtype=np.float32)

        def retrieve_policy(x):
            with _timed(timings, "retrieve"):
                docs = policy.invoke(x["search"], embedding=x["embedding"])
                return own_country_first(docs, country)

        def retrieve_facts(x):
            with _timed(timings, "facts"):
                return facts.invoke(x["standalone"])

        def respond(x):
            with _timed(timings, "answer"):
                answer = self._respond(x["question"], x["standalone"], x["search"], x["policy"], x["facts"],
                                       country, today)
                return answer, self._for_channel(answer, x["search"], x["policy"]) if for_channel else None

        return (RunnablePassthrough.assign(standalone=RunnableLambda(self._condense))
                | RunnablePassthrough.assign(search=RunnableLambda(search_query))
                | RunnablePassthrough.assign(embedding=RunnableLambda(embed))
                | RunnableParallel(question=lambda x: x["question"], standalone=lambda x: x["standalone"],
                                   search=lambda x: x["search"], policy=RunnableLambda(retrieve_policy),
                                   facts=RunnableLambda(retrieve_facts))
                | RunnableLambda(respond))

    def _condense(self, x) -> str:
        question, history = x["question"], x["history"]
        if not history:
            return question
        if self.llm is not None:
            transcript = "\n".join(f"{role}: {text}" for role, text in history[-6:])
            try:
                reply = self.llm.invoke(self.condense_prompt.invoke({"history": transcript, "question": question}))
                standalone = str(reply.content).strip()
                if standalone:
                    return standalone
            except Exception:  # the model is optional for this step: fall back to the heuristic
                log.warning("condensing with the chat model failed", exc_info=True)
        previous = next((text for role, text in reversed(history) if role == "user"), "")
        # Without a model: a fragment ("and in the UK?") or a short question pointing back ("does it cover
        # implants?") is read together with the previous question; a question of its own stands alone.
        if previous and (FOLLOW_UP.search(question)
                         or (len(question.split()) <= 8 and REFERS_BACK.search(question))):
            return f"{previous} {question}"
        return question

    def _respond(self, question, standalone, search, sources, fact_docs, country, today) -> Answer:
        facts = [d.page_content for d in fact_docs]
        best = max((d.metadata.get("score", 0.0) for d in sources), default=0.0)
        has_personal = bool(facts)
        if not sources or (best < SUPPORT_THRESHOLD and not has_personal):
            return Answer(not_found_text(self.settings.hr_contact), facts=facts, supported=False,
                          personal=has_personal, kind="not_found")
        if self.llm is None:
            return self._offline(search, sources, facts, has_personal)
        messages = self.prompt.invoke({
            "hr_contact": self.settings.hr_contact, "country": country or "unknown (answer for all countries)", "today": today.isoformat(),
            # The standalone question carries the conversation a follow-up ("and in Germany?") refers to.
            "question": standalone,
            "wording": "" if standalone == question else f'\n(In the conversation they wrote: "{question}")',
            "sources": "\n\n".join(_source_block(i, d) for i, d in enumerate(sources, start=1)),
            "facts": "\n".join(f"- {f}" for f in facts) or "- (none: answer from the policy only)",
        })
        try:
            reply = self.llm.invoke(messages)
        except Exception:
            log.exception("chat model call failed; answering from the passages instead")
            answer = self._offline(search, sources, facts, has_personal)
            answer.text = MODEL_DOWN + "\n\n" + answer.text
            return answer
        text, citations = check_citations(str(reply.content), sources)
        if has_personal:
            allowed = " ".join([question, *facts, *(d.page_content for d in sources)])
            text = guard_personal_numbers(text, allowed, facts)
        unsure = text.lower().startswith(("i don't know", "i do not know"))
        return Answer(text, citations, facts, supported=bool(citations) and not unsure, personal=has_personal,
                      kind="not_found" if unsure else "answer")

    def _for_channel(self, answer: Answer, search, sources) -> Answer:
        """The answer others may read. Without the asker's records it is the answer itself; with them, the
        same passages are quoted without any fact (a second model call would double the cost and the wait)."""
        if not answer.personal:
            return replace(answer)
        best = max((d.metadata.get("score", 0.0) for d in sources), default=0.0)
        if not sources or best < SUPPORT_THRESHOLD:
            return Answer(not_found_text(self.settings.hr_contact), supported=False, kind="not_found")
        public = self._offline(search, sources, [], False)
        if self.llm is not None:  # a model is configured: the offline note would not be true
            public.text = public.text.replace(OFFLINE_NOTE, QUOTED_NOTE)
        return public

    def _offline(self, question, sources, facts, has_personal) -> Answer:
        text, citations = extractive_answer(question, sources, facts, self.settings.hr_contact)
        return Answer(text, citations, facts, supported=bool(citations), personal=has_personal)


def own_country_first(docs, country: str | None):
    """Drop passages whose heading is about another country only (a Berlin employee asking about sick pay
    must not be quoted the UK rule), unless nothing else is left."""
    if country not in COUNTRY_HEADINGS:
        return docs
    own = COUNTRY_HEADINGS[country]
    others = [p for c, p in COUNTRY_HEADINGS.items() if c != country]

    def foreign(doc) -> bool:
        heading = f"{doc.metadata.get('title', '')} {doc.metadata.get('section', '')}"
        return any(p.search(heading) for p in others) and not own.search(heading)

    kept = [d for d in docs if not foreign(d)]
    return kept or docs


def _source_block(n: int, doc) -> str:
    m = doc.metadata
    where = ", ".join(x for x in (m.get("title") or m.get("source"), m.get("section"),
                                  f"page {m['page']}" if m.get("page") else "") if x)
    return f"[{n}] ({where})\n{doc.page_content}"


@contextmanager
def _timed(timings: dict, name: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + (time.perf_counter() - started) * 1000


def _finish(timings: dict, started: float) -> dict:
    timings["total"] = (time.perf_counter() - started) * 1000
    return {k: round(v, 2) for k, v in timings.items()}
