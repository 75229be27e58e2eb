"""What a question asks of a post it names by its story (issue #14, seventh round): the detail the
opening sentence does not give, and a named person's age however the question describes them. Each
post here is written for the test; each test fails on the code before this round, or (the age of
another) on its first version."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from briefings.ask import NOT_COVERED
from tests.fixtures.answer_index import parts, post_index, said

_parts = partial(parts, category="Americas")

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


# The opening sentence and two more retell whose story it is; one sentence gives the search.
CLEANER_THEFT = _parts(
    "Airport Cleaner Charged With Theft From Planes",
    "JFK airport cleaner Juanette Cullum stole items worth $15,000 from American Airlines planes, "
    "prosecutors said.",
    "Cullum, a JFK cleaner for three years, took unopened bottles of liquor and blankets from the "
    "cabins.",
    "Juanette Cullum was arrested at JFK on Tuesday as she finished a cleaning shift.",
    "Detectives then searched her Brooklyn home, where they found 19 Kindle tablets and seven iPads.",
    "The JFK cleaner Cullum faces charges of grand larceny.",
)

# The age stands beside the name, three sentences from the words that describe the man.
TERROR_CHARGE = _parts(
    "Ohio Man Charged Over Terror Training",
    "An Ohio man who trained with al-Qaeda in Syria was accused on Thursday of plotting an attack "
    "at home, prosecutors said.",
    "He had been told by a cleric to return to the United States and carry out an act of terrorism.",
    "Neighbours in Columbus described a quiet family who kept to themselves.",
    "A lawyer for the family did not return calls on Friday.",
    "Abdirahman Sheik Mohamud, 23, appeared in court in a grey jumpsuit.",
)

# The only age in the post is a winger's, in a sentence that names the club.
BAYERN_REST = _parts(
    "Bayern Rest Stars Before Porto Trip",
    "Bayern Munich will rest several players before the trip to Porto, sports director Matthias "
    "Sammer said on Friday.",
    "The club's doctors have asked for caution after a run of muscle injuries.",
    "Supporters have already sold out the away section in Porto.",
    "Coach Pep Guardiola is expected to name his squad on Monday.",
    "The 31-year-old winger joined Bayern from Chelsea in 2009.",
)


def test_the_answer_is_the_detail_asked_for_not_the_story_retold(tmp_path: Path) -> None:
    with post_index(tmp_path, [("cleaner-theft", NOW, CLEANER_THEFT)], NOW) as index:
        answer = index.ask("What did detectives find at JFK cleaner Juanette Cullum's home?")
        assert answer.grounded
        text = said(answer)
        assert "19 Kindle tablets and seven iPads" in text
        # The sentences that only say whose story it is are not quoted as the answer.
        assert "stole items worth" not in text
        assert "was arrested at JFK" not in text


def test_how_old_is_a_named_person_is_answered_by_the_age_beside_the_name(
    tmp_path: Path,
) -> None:
    with post_index(tmp_path, [("terror-charge", NOW, TERROR_CHARGE)], NOW) as index:
        answer = index.ask(
            "How old is Abdirahman Sheik Mohamud, the Ohio man accused of training with al-Qaeda "
            "in Syria?"
        )
        assert answer.grounded
        assert "Mohamud, 23," in said(answer)


def test_an_age_beside_another_word_is_not_the_named_persons(tmp_path: Path) -> None:
    # "31-year-old winger … Bayern": the age is the winger's, not the club's or Sammer's.
    with post_index(tmp_path, [("bayern-rest", NOW, BAYERN_REST)], NOW) as index:
        answer = index.ask("How old is Bayern sports director Matthias Sammer?")
        assert not answer.grounded
        assert answer.text == NOT_COVERED
