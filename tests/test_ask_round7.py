"""What a question asks of a post it names by its story (issue #14, seventh round): the detail the
opening sentence does not give, a named person's age however the question describes them, and a
sum of pay rather than any sum. Each post here is written for the test; each test fails on the code
before this round."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from briefings.ask import NOT_COVERED
from briefings.models import PostParts
from tests.fixtures.answer_index import post_index, said

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _parts(title: str, *paragraphs: str) -> PostParts:
    return PostParts(title, "", "Americas", paragraphs, "", "", ())


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

# Sums that are trade and building costs, never what the workers are paid.
TEXTILE_STRIKE = _parts(
    "Textile Workers Strike In Dhaka",
    "Thousands of textile workers walked out of factories in Dhaka on Monday.",
    "The factories export clothes worth $40 billion a year.",
    "A new factory building cost $3 million, the owners said.",
)
DOCK_RAISE = _parts(
    "Port Workers Win A Raise",
    "Dock workers in Rotterdam won a raise on Friday.",
    "They will be paid 18 euros an hour from January, up from 16.",
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


def test_how_much_are_they_paid_wants_pay_not_any_sum(tmp_path: Path) -> None:
    posts = [("textile-strike", NOW, TEXTILE_STRIKE), ("dock-raise", NOW, DOCK_RAISE)]
    with post_index(tmp_path, posts, NOW) as index:
        for question in (
            "How much are the textile workers in Dhaka paid?",
            "How much do Dhaka textile workers earn?",
        ):
            answer = index.ask(question)
            assert not answer.grounded, question
            assert answer.text == NOT_COVERED
        answer = index.ask("How much are the dock workers in Rotterdam paid?")
        assert answer.grounded
        assert "18 euros an hour" in said(answer)
