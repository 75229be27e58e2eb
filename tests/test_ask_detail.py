"""Questions asked the way a stranger asks them (issue #14, third round): the subject named by its
rarest words, the thing counted, a sentence's length, a "which" with a describing word, countries'
adjectives; and near-misses declined: who did the deed, an age taken for a duration, what someone
said about a thing they are never reported saying anything about.
Each post here is written for the test; each question fails on the code before this round."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from briefings.ask import NOT_COVERED, AskSettings, PassageIndex
from tests.fixtures.answer_index import BASE, parts, post_index, said

# "dog" and "woman" stand in most sentences; the age asked about stands beside "Winchester".
DOGS = parts(
    "Dogs Found In A Locked House",
    "The dogs of a woman were found in her locked house after neighbours called the police.",
    "Officers forced the door on Friday morning.",
    "The woman had kept both dogs since they were puppies, and the dogs slept in her kitchen.",
    "Her dogs, a five-year-old terrier and a collie, had not been fed, the woman's neighbour said.",
    "An animal charity took the dogs away and the woman's family thanked the neighbours.",
    "Neighbours in Winchester said the 61-year-old had lived alone for years.",
)
# A court story that gives a length of sentence, and a number of other things.
STUN_GUN = parts(
    "Holidaymaker Sacked Over Stun Gun",
    "A holidaymaker from Sunderland was caught at Newcastle airport with a stun gun bought in "
    "Cyprus, the court heard.",
    "He was sentenced to eight months in prison, suspended for two years.",
    "The court heard the stun gun from Cyprus was disguised as a torch.",
    "The Sunderland holidaymaker said he was caught out by the rules on stun guns.",
    "The holidaymaker, who flew to Cyprus with four friends, lost his new job in Sunderland.",
)
# Stitches are never counted here, though the story has numbers.
PARK_BITE = parts(
    "Toddler Hurt In Park",
    "A terrier bit a two-year-old girl on the face in Yarrow Park in Ormskirk on Sunday.",
    "Her mother, Christie Wilson, 21, said the dog's owner ran away.",
    "Doctors closed the wound on her face with stitches, and the girl went home three hours later.",
    "Police want to trace a man in his forties who was walking the dog.",
)
# "Chile", never "Chilean"; "erupted", never "blew".
VOLCANO = parts(
    "Volcano Erupts In Southern Chile",
    "The Osorno volcano in Chile erupted on Wednesday, throwing ash over the lake towns.",
    "Soldiers helped 3,200 residents leave their homes, the interior ministry said.",
    "Soldiers and police checked on residents in 12 lake towns near the volcano on Thursday.",
)

# The name asked for stands in the second sentence, beside few of the question's words.
COMEDY = parts(
    "Comedian Says She Was Paid Less",
    "Comedian Ada Lund said a comedy club paid her less than a male comedian for the same gig.",
    "The club's owner said the other act, Tor Berg, was booked for the whole evening.",
    "Lund apologised on Tuesday.",
)

# A preview: the fight's names and "win", but no winner; and a court case with no sentence yet,
# where the only number of years is an age.
PREVIEW = parts(
    "Lund And Berg Meet In Oslo",
    "Boxers Ada Lund and Siri Berg meet in Oslo on Saturday in the year's biggest fight.",
    "Lund is tipped to win the title fight, though Berg has not lost in three years.",
    "Tickets sold out in an hour.",
)
PIGEON = parts(
    "Teenager Admits Kicking Pigeon",
    "Chad Moss, from Walsall, admitted kicking a pigeon and causing it unnecessary suffering.",
    "The 19-year-old will be sentenced next month, the magistrates said.",
)
# The king is expected at the parade; nothing he said there is reported.
PARADE = parts(
    "King To Attend Victory Parade",
    "King Olav is expected to attend the victory parade in Tromso next month, officials said.",
    "The parade marks eighty years since the end of the war.",
)

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
POSTS = [
    ("dogs", DOGS),
    ("stun-gun", STUN_GUN),
    ("park-bite", PARK_BITE),
    ("volcano", VOLCANO),
    ("comedy", COMEDY),
    ("preview", PREVIEW),
    ("pigeon", PIGEON),
    ("parade", PARADE),
]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PassageIndex]:
    with post_index(tmp_path, [(slug, NOW, post) for slug, post in POSTS], NOW) as built:
        yield built


def test_the_subject_named_by_its_rarest_word_finds_its_sentence(index: PassageIndex) -> None:
    # "dog" and "woman" are in nearly every sentence: "Winchester" says which one is asked about,
    # so an answer of one sentence quotes that one, not the dog's age beside "dogs" and "woman".
    index.settings = AskSettings(answer_sentences=1)
    answer = index.ask("How old was the Winchester woman with the dogs?")
    assert answer.grounded
    assert "61-year-old" in said(answer)


def test_what_sentence_did_he_get_quotes_the_length_of_the_sentence(
    index: PassageIndex,
) -> None:
    answer = index.ask("What sentence did the Sunderland holidaymaker caught with a stun gun get?")
    assert answer.grounded
    assert "eight months" in said(answer)


def test_which_with_a_describing_word_asks_for_a_name(index: PassageIndex) -> None:
    # "which male comedian": a name, though a word stands between "which" and "comedian".
    answer = index.ask("Which male comedian did Ada Lund say was paid more for the gig?")
    assert answer.grounded
    assert "Tor Berg" in said(answer)


def test_how_many_asks_for_a_number_of_the_thing_counted(index: PassageIndex) -> None:
    # The post counts hours and years, and has stitches, but never a number of stitches.
    declined = index.ask("How many stitches did the two-year-old girl need on her face?")
    assert not declined.grounded
    assert NOT_COVERED in declined.text
    answered = index.ask(
        "How many residents did soldiers help out of their homes near the volcano?"
    )
    assert answered.grounded
    assert "3,200" in said(answered)


def test_a_country_adjective_meets_the_country(index: PassageIndex) -> None:
    # The question says "Chilean", the post "Chile".
    answer = index.ask("How many residents left their homes near the Chilean volcano?")
    assert answer.grounded
    assert "3,200" in said(answer)


@pytest.mark.parametrize(
    "question",
    [
        # "who won": the preview says "win" beside no other name than the question's own
        "Who won the fight between Ada Lund and Siri Berg in Oslo?",
        # "how long was he jailed": the only years are an age ("the 19-year-old")
        "How long was Chad Moss jailed for kicking the pigeon?",
        # "what did X say in/about Y": X is never reported saying anything about the parade
        "What did King Olav say in his speech at the victory parade in Tromso?",
    ],
)
def test_a_near_miss_on_the_same_story_is_declined(index: PassageIndex, question: str) -> None:
    answer = index.ask(question)
    assert not answer.grounded
    assert NOT_COVERED in answer.text


def test_how_many_quotes_the_number_of_the_thing_counted(index: PassageIndex) -> None:
    # The sentence with "12 lake towns" holds more of the question's words; the count asked for
    # is of residents.
    index.settings = AskSettings(answer_sentences=1)
    answer = index.ask("How many residents did soldiers and police help leave near the volcano?")
    assert answer.grounded
    assert "3,200" in said(answer)


def test_how_old_is_the_mother_quotes_the_mothers_age(index: PassageIndex) -> None:
    # The girl's age stands beside more of the question's words; the age asked for is the
    # mother's.
    index.settings = AskSettings(answer_sentences=1)
    answer = index.ask(
        "How old is the mother of the two-year-old girl the terrier bit in the park?"
    )
    assert answer.grounded
    assert "21" in said(answer)


# Who did it is said with "shot", never with "behind": "who was behind …" names no deed to find.
SHOOTING = parts(
    "Neighbour Shot In Street Row",
    "A man was left paralysed after a row with a neighbourhood patrol in Leeds last May.",
    "Patrol volunteer Ivo Marsh shot him twice during the argument, a jury heard on Monday.",
    "The jury was told the patrol had been set up after a run of burglaries.",
)


@pytest.mark.parametrize(
    "question",
    [
        "Who was behind the shooting that left the man paralysed?",
        "Who is behind the Leeds shooting?",
    ],
)
def test_who_was_behind_asks_for_the_doer_not_for_the_word_behind(
    tmp_path: Path, question: str
) -> None:
    posts = [("shooting", NOW, SHOOTING), ("volcano", NOW, VOLCANO)]
    with post_index(tmp_path, posts, NOW) as built:
        answer = built.ask(question)
    assert answer.grounded, said(answer)
    assert "Ivo Marsh" in said(answer)
    assert answer.citations[0].url == f"{BASE}/shooting/"
