"""General signals for choosing what to quote (issue #14, blind sets): who a pronoun stands for, a
reason said without a marker word, and idioms a question uses for a plain word of the post."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from briefings.ask import NOT_COVERED, AskSettings, PassageIndex, role_words
from briefings.models import PostParts
from tests.fixtures.answer_index import parts, post_index, said

HARBOUR_BRIBES = parts(
    "Malmo Customs Officer Convicted",
    "Customs officer Nils Brandt was convicted on Friday of taking bribes from smugglers at "
    "Malmo harbour.",
    "He was jailed for six years.",
    "Brandt's deputy at the harbour was jailed for two years for helping the smugglers.",
    "The smugglers moved forty containers of cigarettes through the port.",
)
FERRY_STRIKE = parts(
    "Ferry Crews Strike In Gothenburg",
    "Ferry crews in Gothenburg walked out on Monday over pay.",
    "The union says wages have fallen behind prices for three years.",
    "Talks with the operator resume next week.",
)

SHIP_BELL = parts(
    "Ship's Bell From The Estonia Wreck",
    "A brass bell recovered from a Baltic wreck is expected to fetch 30,000 euros.",
    "Divers raised the bell from the seabed in 2019.",
    "The bell is being sold in Haapsalu on 3 December.",
)

DERBY_GOAL = parts(
    "Malmo Win The Scania Derby",
    "Malmo beat Helsingborg 1-0 in the Scania derby on Sunday.",
    "Striker Anders Lund scored the winning goal in the 88th minute.",
    "Helsingborg stay bottom of the table.",
)

NEW_ANCHOR = parts(
    "Karin Dahl To Host Morning Politics",
    "Karin Dahl is the new host of SVT's Sunday morning politics show Agenda.",
    "SVT announced Dahl's promotion on Friday.",
    "She will take over the show in June and keep her evening news slot.",
)

HOCKEY_OWNER = parts(
    "Hockey Club Owner Under Pressure",
    "Erik Sand, who owns the Kalmar Hawks, is under pressure from the hockey club's fans.",
    "Sand spent 3 million kronor on a new arena scoreboard last season.",
    "The team then lost nine home games in a row.",
    "Supporters now want him to sell up before the winter.",
    "Many of them say Sand earns more than any player in the league.",
)

STRIKER_MOVE = parts(
    "Striker Ola Berg Leaves Hammarby",
    "Striker Ola Berg joined Hammarby from Brommapojkarna for 8 million kronor in 2019.",
    "He scored twenty goals in his first season at the club.",
)

COACH_RELEGATION = parts(
    "Orebro Coach Confident Of Survival",
    "Orebro coach Lena Berg says her side will not be relegated from the top division.",
    "Relegation would cost the club millions, the board warned on Tuesday.",
    "Berg admitted the team's recent form has worried supporters.",
    "' We are not going down, ' she told reporters.",
)

GYROCOPTER = parts(
    "Gyrocopter Lands Outside The Riksdag",
    "Mail carrier Jonas Ek landed a gyrocopter on the lawn of the Riksdag on Monday.",
    "Ek took off from Uppsala for the hour-long flight, police said.",
    "He wanted to protest against party funding.",
)

NORDIC_DEFENCE = parts(
    "Nordic Defence After Two Years In The Alliance",
    "Finland's NATO membership began in April 2023, after decades of neutrality.",
    "Sweden followed eleven months later.",
    "Both now host allied exercises every winter.",
)

SAILOR_FOUND = parts(
    "Missing Sailor Found Alive",
    "Sailor Nils Ek was found alive on Thursday, 40 days after he left Visby.",
    "A German tanker picked him up 200 miles east of Gotland.",
    "His dog, a terrier named Bamse, was found with him on the capsized boat.",
)

ROYAL_BABY = parts(
    "Skating Champions Welcome A Daughter",
    "Skating champions Nils Holm and Anna Holm have welcomed a baby daughter in Falun.",
    "The couple's son, a boy called Otto, was born in 2023.",
    "The baby was born on Sunday and both are doing well, their agent said.",
)

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
POSTS = [
    ("royal-baby", ROYAL_BABY),
    ("sailor-found", SAILOR_FOUND),
    ("nordic-defence", NORDIC_DEFENCE),
    ("gyrocopter", GYROCOPTER),
    ("coach-relegation", COACH_RELEGATION),
    ("striker-move", STRIKER_MOVE),
    ("hockey-owner", HOCKEY_OWNER),
    ("new-anchor", NEW_ANCHOR),
    ("derby-goal", DERBY_GOAL),
    ("harbour-bribes", HARBOUR_BRIBES),
    ("ferry-strike", FERRY_STRIKE),
    ("ship-bell", SHIP_BELL),
]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PassageIndex]:
    with post_index(tmp_path, [(slug, NOW, post) for slug, post in POSTS], NOW) as built:
        yield built


def test_a_sentence_opening_with_he_answers_for_the_man_named_before_it(
    index: PassageIndex,
) -> None:
    # "He was jailed for six years" is about Brandt, named in the sentence before; the deputy's
    # two years stand beside Brandt's name but are not his.
    index.settings = AskSettings(answer_sentences=1)
    answer = index.ask("How long was Nils Brandt jailed for?")
    assert answer.grounded
    assert "six years" in said(answer)


MOOSE_CALL = parts(
    "Moose In The Shopping Centre",
    "Police in Uppsala received a call on Monday about a moose walking through a shopping centre.",
    "Officers dismissed the call at first.",
    "They assumed it was a prank by students.",
    "The moose left the centre on its own after an hour.",
)


def test_a_reason_without_a_marker_word_answers_why(tmp_path: Path) -> None:
    # "They assumed it was a prank" says why, with no "because"; "after an hour" only says when.
    with post_index(tmp_path, [("moose", NOW, MOOSE_CALL), *_dated(POSTS)], NOW) as index:
        index.settings = AskSettings(answer_sentences=1)
        answer = index.ask("Why did police in Uppsala dismiss the call about the moose?")
        assert answer.grounded
        assert "prank" in said(answer)


def _dated(posts: list[tuple[str, PostParts]]) -> list[tuple[str, datetime, PostParts]]:
    return [(slug, NOW, post) for slug, post in posts]


def test_an_idiom_in_the_question_meets_the_plain_words_of_the_post(index: PassageIndex) -> None:
    # "Under the hammer" is an auction: the post says "sold", never "hammer".
    answer = index.ask(
        "In which town is the brass bell from the Baltic wreck going under the hammer?"
    )
    assert answer.grounded
    assert "Haapsalu" in said(answer)


def test_who_got_is_answered_by_the_name_beside_any_verb(index: PassageIndex) -> None:
    # "Got" says nothing of the deed: the scorer is named beside "scored", never "got".
    answer = index.ask("Who got the winning goal for Malmo in the Scania derby?")
    assert answer.grounded
    assert "Anders Lund" in said(answer)


def test_when_quotes_the_date_beside_what_happened_not_beside_the_name(
    index: PassageIndex,
) -> None:
    # "Sunday" and "Friday" stand beside Dahl's name; June beside "take over", what is asked.
    index.settings = AskSettings(answer_sentences=1)
    answer = index.ask("When will Karin Dahl take over Agenda?")
    assert answer.grounded
    assert "June" in said(answer)


def test_a_sum_that_is_not_of_what_happened_does_not_answer_how_much(index: PassageIndex) -> None:
    # The post gives a sum Sand spent and says fans want a sale, but no sale and no price.
    answer = index.ask("How much did Erik Sand sell the Kalmar Hawks for?")
    assert not answer.grounded
    assert answer.text == NOT_COVERED
    # A sum that is of what happened still answers.
    spent = index.ask("How much did Erik Sand spend on the arena scoreboard?")
    assert spent.grounded and "3 million kronor" in said(spent)
    # A price ("for 8 million kronor") answers what was paid, whatever the verb beside it.
    paid = index.ask("How much did Hammarby pay Brommapojkarna for Ola Berg?")
    assert paid.grounded and "8 million kronor" in said(paid)


def test_what_did_someone_say_quotes_their_own_words(index: PassageIndex) -> None:
    # The report of her view holds the question's words; her own words are in the quote.
    answer = index.ask("What did Lena Berg say about relegation?")
    assert answer.grounded
    assert "We are not going down" in said(answer)


def test_a_word_for_a_person_by_their_role_may_be_missing_from_the_post(tmp_path: Path) -> None:
    # The post calls him a mail carrier and by name, never "the postman". (Among enough posts
    # that a word none has weighs more than a common one.)
    weather = [
        (f"weather-{n}", parts(f"Weather {n}", f"Rain is expected in district {n} on Tuesday."))
        for n in range(30)
    ]
    with post_index(tmp_path, _dated([*POSTS, *weather]), NOW) as index:
        answer = index.ask("Where did the postman take off from on his gyrocopter flight?")
        assert answer.grounded
        assert "Uppsala" in said(answer)


def test_a_name_ending_like_a_role_word_is_not_one() -> None:
    # "Goldman" is capitalised in the question: a name, which a post on another story lacks.
    assert role_words(["postman", "goldman", "german", "schoolboy"], ["goldman"]) == {
        "postman",
        "schoolboy",
    }


def test_a_verb_in_the_question_meets_the_noun_the_post_puts_it_as(index: PassageIndex) -> None:
    # "Join" in the question, "membership" in the post.
    answer = index.ask("When did Finland join NATO?")
    assert answer.grounded
    assert "April 2023" in said(answer)


def test_the_name_of_a_thing_the_post_never_names_is_declined(index: PassageIndex) -> None:
    # The tanker is never named (the post's names stand elsewhere); the dog is.
    answer = index.ask("What was the name of the German tanker that picked up sailor Nils Ek?")
    assert not answer.grounded
    assert answer.text == NOT_COVERED
    dog = index.ask("What is the name of the terrier found with sailor Nils Ek?")
    assert dog.grounded and "Bamse" in said(dog)


def test_a_unit_of_time_in_the_question_is_not_what_happened(index: PassageIndex) -> None:
    # "Per season" says what the sum is per; the post's "last season" stands beside a sum spent,
    # and nothing says what Sand earns.
    answer = index.ask("How much does Erik Sand earn per season?")
    assert not answer.grounded
    assert answer.text == NOT_COVERED


def test_what_did_they_call_asks_a_name_the_post_must_give(index: PassageIndex) -> None:
    # The daughter's name is not given (the son's is): "what did they call …" asks a name.
    answer = index.ask("What did Nils and Anna Holm call their new baby daughter?")
    assert not answer.grounded
    son = index.ask("What did Nils and Anna Holm call their son?")
    assert son.grounded and "Otto" in said(son)
