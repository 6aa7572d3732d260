"""The answer chain (LangChain LCEL): condense -> embed -> {policy passages, the asker's facts} -> respond."""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableBranch, RunnableConfig, RunnableLambda

from knowledge.database import audit
from knowledge.answering.notes import note_freshness, note_source_language
from knowledge.answering.versions import asked_day, note_versions
from knowledge.answering.freshness import Freshness
from knowledge.answering.answers import SUPPORT_THRESHOLD, Answer, Asker, about_someone_else, check_citations
from knowledge.answering.figures import guard_personal_numbers
from knowledge.answering.followups import read_with_previous
from knowledge.answering.models import build_chat_model  # noqa: F401 - where callers have always found it
from knowledge.answering.quoting import Quoter
from knowledge.answering.selection import facts_text, lean_towards
from knowledge.answering.others import named_in_language
from knowledge.answering.streaming import AnswerStream, streamed_assign
from knowledge.answering.team import asks_about_others_team, team_reply, without_own_team
from knowledge.answering.timing import StepTimer, finish, timed
from knowledge.people.colleagues import Colleagues, normalise
from knowledge.people.personal import RecordsRetriever, not_covered_by
from knowledge.people.planning import unreadable_plan_reply
from knowledge.search.embeddings import ArrayEmbeddings
from knowledge.people.records import RecordsReader
from knowledge.answering.retriever import PolicyRetriever
from knowledge.search.retrieval import HybridSearcher
from knowledge.profile.model import CompanyProfile
from knowledge.profile.wording import english
from knowledge.settings import Settings

log = logging.getLogger(__name__)

PROMPTS = Path(__file__).resolve().parent / "prompts"
NO_RECORD = ("No HR record is linked to your Slack account yet, so I answered from the policies only. "
             "Ask HR to add your Slack ID or work email to your employee record.")
MODEL_DOWN = english().say("model_down")  # in English; each answer says it in the asker's language


class AnswerService:
    """Answers one employee's question from policy passages and their own records.

    The LCEL chain is built once, here; what differs per question (the asker's records, country, date, whether a
    channel copy is wanted) travels in the chain's input:
      condense (no history: the question; else the chat model, falling back to a heuristic)
      -> search query (the asker's country named) -> embed
      -> the asker's facts -> policy passages (audience-filtered, own country first; a personal question leans
         towards its facts)
      -> respond (unsupported: "I don't know"; else prompt | model | parser with the offline answerer as fallback)
      -> notes: the sources' language, how fresh the records are, a source that has not synced on schedule.
    """

    def __init__(self, searcher: HybridSearcher, records: RecordsReader, settings: Settings, profile: CompanyProfile,
                 llm=None, k: int = 4):
        self.profile = profile
        self.searcher = searcher
        self.records = records
        self.settings = settings
        self.llm = llm
        self.k = k
        self.freshness = Freshness(records.db) if getattr(records, "db", None) is not None else None
        # colleagues' names as keyed digests, for the "someone else" guard (knowledge.people.colleagues)
        self.colleagues = Colleagues(records.db) if getattr(records, "db", None) is not None else None
        self.prompt = ChatPromptTemplate.from_messages([
            ("system", (PROMPTS / "system.txt").read_text()), ("human", (PROMPTS / "user.txt").read_text())])
        self.condense_prompt = ChatPromptTemplate.from_messages([("human", (PROMPTS / "condense.txt").read_text())])
        self.policy = PolicyRetriever(searcher=searcher, k=k)
        self.quoter = Quoter(searcher, profile, settings.hr_contact)
        self.chain = self._build_chain()

    def answer(self, question: str, asker: Asker, history: list[tuple[str, str]] | None = None,
               today: date | None = None, operator: str | None = None, stream: AnswerStream | None = None) -> Answer:
        """operator: who is really reading when it is not the asker (`hrbot ask --as`), for the audit log.
        stream: where the model's checked words go as it writes them (knowledge.answering.streaming)."""
        return self._answer(question, asker, history, today, for_channel=False, operator=operator, stream=stream)[0]

    def answer_with_channel_copy(self, question: str, asker: Asker, history: list[tuple[str, str]] | None = None,
                                 today: date | None = None) -> tuple[Answer, Answer]:
        """The asker's full answer and, from the same retrieval (no second model call), a copy fit for a
        channel: the policy part alone, without the asker's records or any notice about them."""
        return self._answer(question, asker, history, today, for_channel=True)

    def _answer(self, question: str, asker: Asker, history: list[tuple[str, str]] | None, today: date | None,
                for_channel: bool, operator: str | None = None,
                stream: AnswerStream | None = None) -> tuple[Answer, Answer | None]:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        today = today or date.today()
        question = " ".join(question.split())
        with timed(timings, "records"):
            employee_id = self.records.resolve(asker.slack_user_id, asker.email, asker.email_lookup)
            personal = self.records.load(employee_id) if employee_id else None
        own_ids = {x for x in (employee_id, asker.slack_user_id, asker.email) if x}
        own_names = {personal.employee.name, *personal.employee.name.split()} if personal else set()
        if personal:
            own_ids.add(personal.employee.email)
        if personal is not None:
            reader = asker.slack_user_id or asker.email or "unknown"
            if operator:
                audit.record(self.records.db, operator, "read_records", employee_id, as_user=reader)
            else:
                audit.record(self.records.db, reader, "read_records", employee_id)
        checked = without_own_team(question, self.profile)  # "my team" is nobody else; a name beside it is
        if about_someone_else(checked, own_names, own_ids, self.profile.vocabulary,
                              self.colleagues.named if self.colleagues is not None else None) \
                or named_in_language(checked, self.profile.languages, {normalise(w) for w in own_names},
                                     self.colleagues) or asks_about_others_team(question, self.profile):
            refusal = Answer(self.profile.wording_of(question).say(
                "refusal", hr_contact=self.profile.contact_for(question, self.settings.hr_contact)),
                             supported=True, kind="refused",
                             timings=finish(timings, started))
            return refusal, replace(refusal) if for_channel else None
        team = team_reply(question, self.profile, self.records, personal, today, asker, operator, self.settings,
                          for_channel)
        if team is not None:  # a manager's team: the database decides whose leave (knowledge/answering/team.py)
            return replace(team[0], timings=finish(timings, started)), team[1]
        ask_dates = unreadable_plan_reply(question, self.profile, today)  # a plan needs dates: ask, never guess
        if ask_dates is not None:
            clarify = Answer(ask_dates, supported=True, kind="clarify", timings=finish(timings, started))
            return clarify, replace(clarify) if for_channel else None
        answer, channel = self.chain.invoke(
            {"question": question, "history": history or [], "personal": personal, "today": today,
             "country": personal.employee.country if personal else None, "for_channel": for_channel,
             "stream": stream},
            config={"callbacks": [StepTimer(timings)], "run_name": "hr_answer"})
        answer.employee_id = employee_id
        if personal is None:
            answer.notice = NO_RECORD
        answer.timings = finish(timings, started)
        return answer, channel

    # --- the chain, built once ----------------------------------------------------------------------------------

    def _build_chain(self):
        heuristic = RunnableLambda(self._condense_heuristic, name="condense_heuristic")
        if self.llm is not None:
            with_model = (RunnableLambda(_condense_input) | self.condense_prompt | self.llm | StrOutputParser()
                          | RunnableLambda(_non_empty)).with_fallbacks([heuristic], exception_key="error")
        else:
            with_model = heuristic
        condense = RunnableBranch((lambda x: not x["history"], RunnableLambda(lambda x: x["question"])),
                                  with_model).with_config(run_name="condense")
        write = RunnableLambda(self._offline_step, name="offline_answer")
        if self.llm is not None:
            prompt = RunnableLambda(self._prompt_input) | self.prompt
            write = (streamed_assign("reply", prompt, self.llm, self.settings.chat_timeout, self._guard)
                     | RunnableLambda(self._checked_reply, name="check_reply")).with_fallbacks(
                [RunnableLambda(self._model_down, name="model_down")], exception_key="error")
        self.write = write
        return (_assign("standalone", condense)
                | _assign("search", RunnableLambda(self._search_query, name="search_query"))
                | _assign("facts", RunnableLambda(self._retrieve_facts, name="facts"))
                | RunnableLambda(self._embed, name="embed")
                | _assign("as_of", RunnableLambda(  # the day whose policy versions answer: named, else today
                    lambda x: asked_day(x["standalone"], self.profile, x["country"], x["today"]), name="asked_day"))
                | _assign("policy", RunnableLambda(self._retrieve_policy, name="retrieve"))
                | RunnableLambda(self._respond, name="answer"))

    def _condense_heuristic(self, x) -> str:
        if x.get("error") is not None:  # the model is optional for this step
            log.warning("condensing with the chat model failed: %s", x["error"])
        return read_with_previous(x["question"], x["history"], self.profile)

    def _search_query(self, x) -> str:
        # Policies differ by location: name the asker's in the search unless the question names one. Misspelt
        # words are searched for corrected (the question quoted from stays as typed).
        location = self.profile.location(x["country"])
        search = self.searcher.corrected(x["standalone"])
        if location and not self.profile.mentioned(x["standalone"]):
            return f"{search} ({location.name})"
        return search

    def _embed(self, x) -> dict:
        """The input with its vectors, one model call per embedding space for everything the answer needs: the
        search query, the question's own words (without the location the query adds, for choosing quotes) and
        the asker's facts (the search leans towards them, and so do the quotes). A forward pass costs about the
        same for three short texts as for one, so a personal question no longer pays for a second call.
        embedding / ml_embedding: {"search", "question"}; facts_vectors: {space name: vector}."""
        facts = facts_text(x["facts"]) if x["facts"] else None
        primary = _vectors(self.searcher.embeddings, x["search"], x["standalone"], "primary" in self.scorers, facts)
        ml = None
        if self.searcher.wants_multilingual(x["standalone"]):
            ml = _vectors(self.searcher.multilingual, x["search"], x["standalone"], True, facts)
        facts_vectors = {name: found.pop("facts") for name, found in (("primary", primary), ("multilingual", ml))
                         if found is not None and found.get("facts") is not None}
        return {**x, "embedding": primary, "ml_embedding": ml, "facts_vectors": facts_vectors}

    def _retrieve_policy(self, x):
        audiences = [x["country"]] if x["country"] else None
        ml = x["ml_embedding"]
        embedding = x["embedding"]["search"]
        facts_vectors = x["facts_vectors"]
        if "primary" in facts_vectors:
            # A question the asker's own records answer ("how much leave do I have?") wants the policy that
            # explains those figures (entitlement, carry-over, booking), not its nearest neighbour alone (pay for
            # leave untaken on leaving): search with the question leaning towards the facts.
            embedding = lean_towards(embedding, facts_vectors["primary"])
        ml_search = None if ml is None else ml["search"]
        if ml_search is not None and "multilingual" in facts_vectors:
            ml_search = lean_towards(ml_search, facts_vectors["multilingual"])
        docs = self.policy.invoke(x["search"], embedding=embedding, ml_embedding=ml_search,
                                  audiences=audiences, as_of=x["as_of"])
        return self._with_scope(own_location_first(docs, x["country"], self.profile), x, audiences)

    def _with_scope(self, docs, x, audiences):
        """When the asker's records say a leave type's rules do not cover them (a contractor), the passage that
        says so comes first: the nearest passages to "how much leave do I have?" state the rule for those it
        covers, and quoting one would answer a contractor with the full-time entitlement."""
        prefer = not_covered_by(x["facts"])
        if prefer is None:
            return docs
        saying = [d for d in docs if prefer.search(d.page_content)]
        if saying:  # found, maybe below a passage merged from more of its page (one result per page region)
            return saying[:1] + [d for d in docs if d is not saying[0]]
        fact = next(d for d in x["facts"] if d.metadata.get("covered") is False)
        kind = fact.metadata["employment_type"].replace("_", " ")
        query = f"{fact.metadata.get('label', '')}: who it covers, {kind}s"
        found = [d for d in self.policy.invoke(query, audiences=audiences, as_of=x["as_of"])
                 if prefer.search(d.page_content)]
        return found[:1] + docs[: self.k - 1] if found else docs

    def _retrieve_facts(self, x):
        return RecordsRetriever(records=x["personal"], today=x["today"], profile=self.profile,
                                language=self.profile.language_of(x["question"])).invoke(x["standalone"])

    def _respond(self, x, config) -> tuple[Answer, Answer | None]:
        sources, facts = x["policy"], [d.page_content for d in x["facts"]]
        best = max((d.metadata.get("score", 0.0) for d in sources), default=0.0)
        if not facts and (not sources or best < SUPPORT_THRESHOLD):
            answer = Answer(self._not_found(x["question"]), facts=facts, supported=False,
                            personal=bool(facts), kind="not_found")
        else:
            answer = self.write.invoke({**x, "fact_texts": facts}, config)
            note_source_language(answer, x["question"], sources, self.profile)
            note_versions(answer, x["question"], sources, x["as_of"], x["today"], self.profile)
        note_freshness(answer, x["question"], self.freshness, self.profile)
        channel = (self._for_channel(answer, x["standalone"], sources, _question_vectors(x))
                   if x["for_channel"] else None)
        if channel is not None and answer.personal:  # quoted anew, without the notes: say its version again
            note_versions(channel, x["question"], sources, x["as_of"], x["today"], self.profile)
        return answer, channel

    def _place(self, code: str | None) -> str:
        location = self.profile.location(code)
        if location is None:
            return "unknown (answer for all locations)"
        return f"{location.name} ({location.code})"

    def _prompt_input(self, x) -> dict:
        standalone, question, country = x["standalone"], x["question"], x["country"]
        return {
            "hr_contact": self.profile.contact_for(question, self.settings.hr_contact), "country": self._place(country),
            "today": x["today"].isoformat(),
            # The standalone question carries the conversation a follow-up ("and for part-timers?") refers to.
            "question": standalone,
            "wording": "" if standalone == question else f'\n(In the conversation they wrote: "{question}")',
            "sources": "\n\n".join(_source_block(i, d) for i, d in enumerate(x["policy"], start=1)),
            "facts": "\n".join(f"- {f}" for f in x["fact_texts"]) or "- (none: answer from the policy only)",
        }

    def _checked_reply(self, x) -> Answer:
        """The model's reply with its citations checked and unsupported personal figures removed."""
        sources, facts = x["policy"], x["fact_texts"]
        text, citations = check_citations(x["reply"], sources)
        if facts:
            text = self._guard(text, " ".join([x["question"], *facts, *(d.page_content for d in sources)]), facts,
                               x["question"])
        unsure = text.lower().startswith(("i don't know", "i do not know"))
        return Answer(text, citations, facts, supported=bool(citations) and not unsure, personal=bool(facts),
                      kind="not_found" if unsure else "answer")

    def _guard(self, text: str, allowed: str, facts: list[str], question: str) -> str:
        return guard_personal_numbers(text, allowed, facts, self.profile.addressed,
                                      self.profile.wording_of(question).say("heading"), question)

    def _offline_step(self, x) -> Answer:
        # quotes are chosen for the question itself: the location added to the search query would favour every
        # sentence that names the place
        return self.quoter.quote(x["standalone"], x["policy"], x["fact_texts"], bool(x["fact_texts"]),
                                 _question_vectors(x), prefer=not_covered_by(x["facts"]),
                                 facts_vectors=x.get("facts_vectors"))

    def _model_down(self, x) -> Answer:
        log.error("chat model call failed; answering from the passages instead: %r", x.get("error"))
        answer = self._offline_step(x)
        # the quoted answer's own note says no model is configured; here one is, and it is not answering
        said = self.profile.wording_of(x["question"])
        answer.text = said.say("model_down") + "\n\n" + answer.text.replace(said.say("offline_note"),
                                                                              said.say("quoted_note"))
        return answer

    @property
    def scorers(self) -> dict:
        return self.quoter.scorers

    @scorers.setter
    def scorers(self, scorers: dict) -> None:
        self.quoter.scorers = scorers

    def _for_channel(self, answer: Answer, question, sources, vectors=None) -> Answer:
        """The answer others may read. Without the asker's records it is the answer itself; with them, the
        same passages are quoted without any fact (a second model call would double the cost and the wait)."""
        if not answer.personal:
            return replace(answer)
        best = max((d.metadata.get("score", 0.0) for d in sources), default=0.0)
        if not sources or best < SUPPORT_THRESHOLD:
            return Answer(self._not_found(question), supported=False, kind="not_found")
        public = self.quoter.quote(question, sources, [], False, vectors)
        if self.llm is not None:  # a model is configured: the offline note would not be true
            said = self.profile.wording_of(question)
            public.text = public.text.replace(said.say("offline_note"), said.say("quoted_note"))
        return public

    def _not_found(self, question: str) -> str:
        return self.profile.wording_of(question).say(
            "not_found", hr_contact=self.profile.contact_for(question, self.settings.hr_contact))

def _assign(key: str, step: Runnable) -> RunnableLambda:
    """The input with `key` set to step's output, like RunnablePassthrough.assign but on the calling thread:
    assign() wraps its step in a RunnableParallel, which makes a thread pool and starts a thread on every call
    (4 of them an answer cost 4 ms on an idle machine and far more beside a busy core). The step runs as a child
    run with its own name, so callbacks (StepTimer, tracing) see it as before."""
    def assign(x: dict, config: RunnableConfig) -> dict:
        return {**x, key: step.invoke(x, config)}
    return RunnableLambda(assign, name=f"assign_{key}")


def _vectors(model, search: str, question: str, with_question: bool, facts: str | None = None) -> dict:
    """{"search", "question", "facts"} vectors of one model, in one call where the model takes arrays (an
    embeddings API that does not is asked for the search alone, as before: one request per answer)."""
    if not isinstance(model, ArrayEmbeddings):
        vector = np.asarray(model.embed_query(search), dtype=np.float32)
        return {"search": vector, "question": vector if question == search else None, "facts": None}
    texts = {"search": search}
    if with_question and question != search:
        texts["question"] = question
    if facts:
        texts["facts"] = facts
    found = dict(zip(texts, model.embed_array(list(texts.values()))))
    if question == search:
        found["question"] = found["search"]
    return {"search": found["search"], "question": found.get("question"), "facts": found.get("facts")}


def _question_vectors(x) -> dict:
    """The question's own vector per scorer name, where the embed steps made one."""
    found = {"primary": (x.get("embedding") or {}).get("question"),
             "multilingual": (x.get("ml_embedding") or {}).get("question")}
    return {k: v for k, v in found.items() if v is not None}


def _condense_input(x) -> dict:
    return {"history": "\n".join(f"{role}: {text}" for role, text in x["history"][-6:]), "question": x["question"]}


def _non_empty(text: str) -> str:
    if not text.strip():
        raise ValueError("the chat model returned an empty standalone question")
    return text.strip()


def own_location_first(docs, location: str | None, profile: CompanyProfile):
    """Drop passages whose heading is about other locations only (someone in one country asking about sick
    pay must not be quoted another country's rule), unless nothing else is left."""
    if profile.location(location) is None:
        return docs

    def foreign(doc) -> bool:
        named = profile.mentioned(f"{doc.metadata.get('title', '')} {doc.metadata.get('section', '')}")
        return bool(named) and location not in named

    kept = [d for d in docs if not foreign(d)]
    return kept or docs


def _source_block(n: int, doc) -> str:
    m = doc.metadata
    where = ", ".join(x for x in (m.get("title") or m.get("source"), m.get("section"),
                                  f"page {m['page']}" if m.get("page") else "") if x)
    return f"[{n}] ({where})\n{doc.page_content}"
