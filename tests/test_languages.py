"""Language packs: employees ask in their own language. The packs are data (knowledge/profile/languages/*.toml or
a company's own table in its profile); questions in any configured language get the asker's facts, and an answer
says when the sources it quotes are in another language."""
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
    assert answer.personal and any("available" in f for f in answer.facts)
    assert "annual-leave-policy.pdf" in {c.source for c in answer.citations}
    assert answer.source_language == "en"
    assert "_Die zitierten Quellen sind auf Englisch._" in answer.text


def test_an_english_question_gets_no_language_note(offline):
    answer = offline.answer("How much annual leave do I have?", Asker("U06LH2OFFM"), today=JUNE)
    assert answer.source_language is None and "Quellen" not in answer.text
