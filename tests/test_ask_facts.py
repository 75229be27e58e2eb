"""Questions that ask for a kind of fact (issue #14, second round): a post on the same story that
lacks the fact does not answer, and the sentence holding the very measure asked for is quoted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from briefings.ask import NOT_COVERED, PassageIndex
from tests.fixtures.answer_index import parts, post_index, said

# Written before the vote: the story's words, but no result, no count, no date of an opening.
VISBY_PREVIEW = parts(
    "Visby Chooses Its Mayor",
    "Mayor Ingrid Lind and her challenger Olof Berg meet in the last debate before the Visby "
    "mayoral vote.",
    "Both candidates promise a new ferry harbour for the town. Lind wants it north of the old "
    "port; shipping firms prefer the south shore.",
    "Whichever site wins, the new harbour will cost 40 million kronor, the council said.",
)
BERGEN_QUAKE = parts(
    "Earthquake Shakes Bergen",
    "An earthquake shook Bergen late on Monday, waking residents across the city.",
    "The epicentre of the Bergen earthquake lay twelve kilometres west of the city, near Sotra.",
    "Seismologists measured it at magnitude 4.2.",
    "No one was hurt.",
)
ORE_TRAIN = parts(
    "Arctic Ore Railway To Reopen",
    "Sweden's transport agency says the Kiruna ore railway will reopen next month after the "
    "landslide.",
    "The slide buried the line near Abisko last winter. Crews have since rebuilt two kilometres "
    "of track.",
    "Ore trains to Narvik resume on 9 May, the agency said.",
)

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
POSTS = [
    ("visby-preview", VISBY_PREVIEW),
    ("bergen-quake", BERGEN_QUAKE),
    ("ore-train", ORE_TRAIN),
]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PassageIndex]:
    with post_index(tmp_path, [(slug, NOW, post) for slug, post in POSTS], NOW) as built:
        yield built


@pytest.mark.parametrize(
    "question",
    [
        # a number: the preview has none beside the vote
        "How many votes did Olof Berg get in the Visby mayoral vote?",
        # a date: the harbour is promised, never opened
        "When did the new Visby ferry harbour open?",
    ],
)
def test_a_post_on_the_story_that_lacks_the_asked_fact_is_declined_citing_nothing(
    index: PassageIndex, question: str
) -> None:
    answer = index.ask(question)
    assert not answer.grounded, question
    assert answer.text == NOT_COVERED
    assert answer.citations == ()
    # The fact it does state is still answered from it.
    cost = index.ask("How much will the new Visby harbour cost?")
    assert cost.grounded and "40 million kronor" in said(cost)


def test_how_strong_quotes_the_magnitude_not_the_epicentre(index: PassageIndex) -> None:
    answer = index.ask("How strong was the Bergen earthquake?")
    assert answer.grounded
    assert "magnitude 4.2" in said(answer)


def test_when_quotes_the_date_rather_than_next_month(index: PassageIndex) -> None:
    answer = index.ask("When will the Kiruna ore railway reopen?")
    assert answer.grounded
    assert "9 May" in said(answer)
