"""The someone-else guard in the questions employees really ask, in English and German (found by outside
walkthroughs): another person named in the language's own grammar, in lower case or after a title, a role whose
absence or records are asked about, refused; questions about oneself, the policy or a manager's part in it,
answered. Both ways are tested: a false refusal is a defect too."""
import pytest

from tests.planning_helpers import HANNAH, LENA, ask


@pytest.mark.parametrize("question", [
    "Wenn Lena nächste Woche Urlaub nimmt, wie viele Tage hat sie dann noch?",
    "Wenn Priya vom 22.12. bis 2.1. Urlaub nimmt, was bleibt ihr?",
    "Wie viele Urlaubstage hat Lena noch?",
    "Was ist Lenas Resturlaub?",
    "Wie viel Urlaub hat sie noch übrig?",
])
def test_a_colleague_named_in_german_word_order_is_refused(sample_runtime, question):
    """A first name alone where German puts a person, or "sie" in a question about leave: refused like the English
    "If Lena takes...", never answered with the asker's own figures (the outside review found Hannah's balance)."""
    answer = ask(sample_runtime, HANNAH, "2026-12-03", question)
    assert answer["kind"] == "refused" and answer["facts"] == [], answer


@pytest.mark.parametrize("question", [
    "Wie viele Urlaubstage hat Lena noch?",      # Lena asking about herself by her own name
    "Wie viele Tage Urlaub habe ich noch?",
    "Wie viele Urlaubstage hat Teilzeit?",         # a capitalised noun where a person could stand: no colleague
    "Wie ist Ihr Urlaub geregelt?",                # "Ihr" is the polite you
])
def test_german_questions_about_oneself_or_the_policy_are_not_refused(sample_runtime, question):
    answer = ask(sample_runtime, LENA, "2026-12-03", question)
    assert answer["kind"] != "refused", answer


@pytest.mark.parametrize("question", [
    "Wie viele Urlaubstage hat mein Chef noch?",                     # a role, as in English "my manager's leave"
    "Wer aus dem Team von Jonas ist im März im Urlaub gewesen?",      # a colleague's first name after "Team von"
    "Wer aus dem Team von Herrn Becker war im März abwesend?",        # a colleague's surname
    # the walkthrough of 2026-12-04: these got the asker's own figures, as if they were the colleague's
    "wie viel urlaub hat hannah noch",                                # a first name in lower case
    "Wie viel Urlaub hat Frau Whitfield noch?",                       # a title before a surname
    "Wenn Herr Becker nächste Woche frei nimmt, wie viele Tage hat er dann noch?",
    "Is my manager off next week?",                                   # whether someone is away is their record
    "is my line manager on leave over christmas?",
    "Will my boss be away in January?",
    # the re-check of 2026-12-04: a plan asked for a colleague got the asker's own plan
    "if priya takes 14-18 december off how many days is that",
    "priya wants 14-18 december off, how many days is that?",
    "If my manager takes next week off, how many days is that?",
    "is priya off next week?",
    "Is she off next week?",
    "ist meine vorgesetzte nächste woche da?",                        # a role in lower case
    # the last outside check: "my colleague <name>" got past the name check
    "Is my colleague Chloe on leave in December?", "is my colleague chloe on leave in december?",
])
def test_german_roles_and_another_persons_team_are_refused(sample_runtime, question):
    """The final outside pass: these got the asker's own figures or a policy answer instead of the refusal."""
    answer = ask(sample_runtime, LENA, "2026-12-03", question)
    assert answer["kind"] == "refused", answer


@pytest.mark.parametrize("question", [
    "Wie viel Urlaub habe ich noch?", "Wenn ich nächste Woche frei nehme, wie viele Tage sind das?",
    "Was passiert, wenn man krank ist?", "Is the office closed on 24 December?", "Is sick leave paid?",
    "Who in my team is off next week?",
    # the re-check: a role in a question about the approval process is no one's records
    "Muss mein Chef den Urlaub genehmigen?", "Darf mein Chef meinen Urlaub ablehnen?",
    "Wer genehmigt meinen Urlaub, mein Chef?", "If I take 14 to 18 December off, how many days is that?",
    "If leave is not taken, does it carry over?", "Is Christmas Eve off?",
    # the last outside check: a manager's part in approving leave is the policy, not the manager's records
    "Does my manager have to approve my leave?", "How long does my manager have to respond to a leave request?",
    "What happens if my manager is on leave when I request time off?",
    "What if my manager is off sick when I want to book leave?", "Who should I ask if my manager is away?",
])
def test_questions_about_oneself_or_the_policy_are_not_refused(sample_runtime, question):
    """The wider subject patterns (any case, a title, 'is my manager off') leave these alone."""
    assert ask(sample_runtime, LENA, "2026-12-03", question)["kind"] != "refused"


def test_a_german_question_without_little_words_is_answered_in_german(sample_runtime):
    """The walkthrough: 'Hat Herr Kowalski nächste Woche Urlaub?' was refused in English (none of the German
    pack's little words were in it)."""
    answer = ask(sample_runtime, LENA, "2026-12-04", "Hat Herr Kowalski nächste Woche Urlaub?")
    assert answer["kind"] == "refused" and answer["answer"].startswith("Ich kann nur"), answer


def test_an_english_question_is_refused_in_english(sample_runtime):
    """The last outside check: "Was Wei Chen sick last month?" was refused in German ('was' is German too)."""
    answer = ask(sample_runtime, HANNAH, "2026-12-04", "Was Wei Chen sick last month?")
    assert answer["kind"] == "refused" and answer["answer"].startswith("I can only"), answer
