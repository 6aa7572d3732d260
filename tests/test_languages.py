"""Language packs: employees ask in their own language. The packs are data (knowledge/profile/languages/*.toml or
a company's own table in its profile); questions in any configured language get the asker's facts, and an answer
says when the sources it quotes are in another language."""
import re
from datetime import date

import pytest

from knowledge.answering.answers import Asker
from knowledge.answering.chain import AnswerService
from knowledge.profile.language import LanguagePackError, parse_pack, shipped, shipped_pack
from knowledge.profile.load import ProfileError, parse_profile

JUNE = date(2026, 6, 15)
PROFILE = """[company]
name = "Acme"
hr_contact = "hr@acme.example"
{languages}

[leave_types]
annual = "annual leave"

[locations.FR]
name = "France"

[locations.FR.leave.annual]
base_days = 25
{packs}
"""


def profile(languages: str = "", packs: str = ""):
    return parse_profile(PROFILE.format(languages=languages, packs=packs))


def test_english_is_the_default_and_every_shipped_pack_is_valid():
    assert [lang.code for lang in profile().languages] == ["en"]
    assert {"en", "de"} <= set(shipped())
    for code in shipped():
        assert shipped_pack(code).name


def test_personal_words_are_whole_words_and_topics_are_word_starts():
    en = profile()
    assert en.is_personal("How much annual leave do I have?")
    assert not en.is_personal("Is this policy new in 2026?")  # "is", "in": not the word "I"
    assert en.topics_of("how many holidays have I got left") >= {"balance"}
    assert en.topics_of("who is my manager") == {"profile"}


def test_a_profile_names_its_languages_and_the_first_is_the_default():
    both = profile('languages = ["de", "en"]')
    assert [lang.code for lang in both.languages] == ["de", "en"]
    assert both.language_of("Wie viele Urlaubstage habe ich noch?").code == "de"
    assert both.language_of("How many days do I have?").code == "en"
    assert both.language_of("Urlaub 2026").code == "de"  # no little words at all: the default
    assert both.is_personal("Wie viele Urlaubstage habe ich noch?")
    assert "balance" in both.topics_of("Wie viele Urlaubstage habe ich noch?")
    assert not profile().is_personal("Wie viele Urlaubstage habe ich noch?")  # German is not configured


def test_a_company_can_bring_its_own_pack():
    own = profile('languages = ["en", "fr"]', """
[language_packs.fr]
name = "Français"
words = ["je", "le", "la", "les", "de", "combien", "est", "mes", "mon", "ma"]
personal = { words = ["je", "j'ai", "moi", "mon", "ma", "mes"] }
topics = { balance = ["congé", "congés", "jours", "solde"] }
say = { sources_in = "Les sources citées sont en {language}.", names = { en = "anglais" } }
""")
    fr = own.languages[1]
    assert own.language_of("combien de jours de congés est-ce que j'ai ?").code == "fr"
    assert own.is_personal("combien de jours de congés me restent, à moi ?")
    assert fr.note_sources_in("en") == "Les sources citées sont en anglais."


def test_unknown_or_broken_packs_are_reported_with_their_line():
    with pytest.raises(ProfileError) as caught:
        profile('languages = ["en", "xx"]', '\n[language_packs.fr]\nname = "Français"\ncolour = "bleu"\n')
    problems = "\n".join(caught.value.problems)
    assert "line 4: company.languages: no language pack 'xx' ships with hrbot" in problems
    assert "language_packs.fr: unknown key 'colour'" in problems
    with pytest.raises(LanguagePackError, match="regular expression"):
        parse_pack("en", {"name": "English", "personal": {"phrases": ["(unclosed"]}})


@pytest.fixture
def offline(sample_runtime):
    return AnswerService(sample_runtime.searcher, sample_runtime.records, sample_runtime.settings,
                         sample_runtime.profile)


def test_a_german_question_gets_the_askers_balance_and_says_the_sources_are_english(offline):
    answer = offline.answer("Wie viele Urlaubstage habe ich noch?", Asker("U06LH2OFFM"), today=JUNE)  # in Berlin
    assert answer.personal and any("Tage verfügbar" in f for f in answer.facts)  # the facts speak German too
    assert "annual-leave-policy.pdf" in {c.source for c in answer.citations}
    assert answer.source_language == "en"
    assert "_Die zitierten Quellen sind auf Englisch._" in answer.text


def test_an_english_question_gets_no_language_note(offline):
    answer = offline.answer("How much annual leave do I have?", Asker("U06LH2OFFM"), today=JUNE)
    assert answer.source_language is None and "Quellen" not in answer.text


# --- the asker's facts in their language (knowledge.profile.wording) ---------------------------------------------

FRENCH = """
[language_packs.fr]
name = "Français"
words = ["je", "le", "la", "les", "de", "combien", "est", "mes", "mon", "ma", "il", "me", "reste"]
personal = { words = ["je", "j'ai", "moi", "mon", "ma", "mes", "me"] }
topics = { balance = ["congé", "congés", "jours", "solde"] }
{facts}
"""


def test_german_dates_and_numbers_are_written_with_the_packs_names():
    from decimal import Decimal

    from knowledge.profile.wording import wording

    de, en = wording(shipped_pack("de")), wording(shipped_pack("en"))
    assert de.weekday(date(2027, 3, 29)) == "Montag, 29. März 2027" and de.day_month(date(2027, 3, 31)) == "31. März"
    assert en.weekday(date(2027, 3, 29)) == "Monday 29 March 2027" and en.day_month(date(2027, 3, 31)) == "31 March"
    assert de.days(Decimal("17.50")) == "17,5 Tage" and de.days(Decimal(1)) == "1 Tag"
    assert en.days(Decimal("17.50")) == "17.5 days" and en.days(Decimal(1)) == "1 day"
    assert de.missing == [] and en.missing == []


def test_a_pack_without_facts_falls_back_to_english_line_by_line_and_the_check_names_what_is_missing(sample_runtime):
    from knowledge.cli.profile import languages_line
    from knowledge.people.personal import personal_facts

    records = sample_runtime.records.load("E005")  # Lena, Berlin
    bare = profile('languages = ["en", "fr"]', FRENCH.replace("{facts}", "")).languages[1]
    facts = [d.page_content for d in personal_facts(records, JUNE, sample_runtime.profile, bare)]
    english = [d.page_content for d in personal_facts(records, JUNE, sample_runtime.profile)]
    assert facts == english  # no [facts] and no [display]: every line in English
    assert "balance, balance_carry_deadline" in languages_line(bare) and "months" in languages_line(bare)

    partial = profile('languages = ["en", "fr"]', FRENCH.replace("{facts}", """
[language_packs.fr.facts]
taken = "- {days} pris"
[language_packs.fr.display]
decimal = ","
""")).languages[1]
    balance = next(d.page_content for d in personal_facts(records, JUNE, sample_runtime.profile, partial)
                   if d.metadata["kind"] == "balance")
    assert "- 4,5 pris - 4 booked ahead = 15,5 days available" in balance  # its one template, English for the rest
    missing = re.split(r"[\s,():]+", languages_line(partial))
    assert "taken" not in missing and "booked" in missing  # the key it has is not named; one it lacks is
    assert languages_line(shipped_pack("de")) == "Language de (Deutsch): every fact has its words"


def test_a_facts_template_must_be_one_hrbot_writes_with_the_fields_it_fills():
    with pytest.raises(LanguagePackError, match="facts.taken names {hours}"):
        parse_pack("fr", {"name": "Français", "facts": {"taken": "- {hours} pris"}})
    with pytest.raises(LanguagePackError, match="facts.tken is not a template"):
        parse_pack("fr", {"name": "Français", "facts": {"tken": "- {days} pris"}})
    with pytest.raises(LanguagePackError, match="display.months must list 12 names"):
        parse_pack("fr", {"name": "Français", "display": {"months": ["janvier"]}})
    with pytest.raises(LanguagePackError, match="display.day must be a text containing"):
        parse_pack("fr", {"name": "Français", "display": {"day": "{day} {month}"}})


def test_the_next_holidays_are_named_in_the_askers_language_where_the_library_has_it(offline):
    after_christmas = date(2026, 12, 28)  # the imported Berlin holidays end with 2026: 2027's are the library's
    german = offline.answer("Wann ist mein nächster Feiertag?", Asker("U06LH2OFFM"), today=after_christmas)
    english = offline.answer("When is my next public holiday?", Asker("U06LH2OFFM"), today=after_christmas)
    assert any("Neujahr (Freitag, 1. Januar 2027)" in f for f in german.facts), german.facts
    assert any("New Year's Day (Friday 1 January 2027)" in f for f in english.facts), english.facts
