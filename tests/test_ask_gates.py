"""What kind of answer a question asks for, read from its grammar rather than from misses (issue #14,
sixth round): the unit a "how much … fined" or a "what share …" question wants."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from briefings.ask import NOT_COVERED, PassageIndex
from briefings.question import Measure, measure
from tests.fixtures.answer_index import parts, post_index, said

# A fine is reported, its amount never; the post's numbers count games and players.
RINK_BRAWL = parts(
    "Kalmar Hawks Goalkeeper Fined After Brawl",
    "Kalmar Hawks goalkeeper Erik Sand was fined by the league after Saturday's brawl.",
    "He was also suspended for three games.",
    "The brawl involved 14 players from both benches.",
)

MAYOR_RACE = parts(
    "Kalmar Elects A New Mayor",
    "Anna Berg came third in the Kalmar mayoral race on Sunday.",
    "Turnout was 3,000 voters lower than at the last race.",
    "The winner, Per Lind, takes office in January.",
)

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
POSTS = [("rink-brawl", RINK_BRAWL), ("mayor-race", MAYOR_RACE)]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PassageIndex]:
    with post_index(tmp_path, [(slug, NOW, post) for slug, post in POSTS], NOW) as built:
        yield built


def test_how_much_fined_wants_a_sum_however_many_words_stand_between(
    index: PassageIndex,
) -> None:
    # "Three games" and "14 players" are numbers, not a fine: the post never gives the amount.
    answer = index.ask("How much was Kalmar Hawks goalkeeper Erik Sand fined after the brawl?")
    assert not answer.grounded
    assert answer.text == NOT_COVERED


def test_how_much_with_a_verb_of_paying_is_money() -> None:
    assert measure("How much was Kalmar Hawks goalkeeper Erik Sand fined?") is Measure.MONEY
    assert measure("How much does a pot-paired falafel sandwich cost?") is Measure.MONEY
    assert measure("How much are the Hawks paying their coach?") is Measure.MONEY
    # Without one, "how much" is any amount.
    assert measure("How much ash fell on the town?") is Measure.AMOUNT


def test_what_share_wants_a_part_of_a_whole_not_any_number(tmp_path: Path) -> None:
    with post_index(tmp_path, [(slug, NOW, post) for slug, post in POSTS], NOW) as index:
        # "3,000 voters" is a count, not Berg's share of the vote.
        answer = index.ask("What share of the vote did Anna Berg get in the Kalmar mayoral race?")
        assert not answer.grounded
        assert answer.text == NOT_COVERED
    stated = parts(
        "Kalmar Elects A New Mayor",
        "Anna Berg came third in the Kalmar mayoral race on Sunday with 21 per cent of the vote.",
        "Turnout was 3,000 voters lower than at the last race.",
    )
    (tmp_path / "stated").mkdir()
    with post_index(tmp_path / "stated", [("mayor-race", NOW, stated)], NOW) as index:
        answer = index.ask("What share of the vote did Anna Berg get in the Kalmar mayoral race?")
        assert answer.grounded
        assert "21 per cent" in said(answer)


def test_what_percent_is_asked_as_what_percentage_is(tmp_path: Path) -> None:
    # "percent" and "proportion" give the question its form, like "percentage": the post writes
    # "per cent", and no post has to hold the word itself.
    turnout = parts(
        "Kalmar Votes In A Calm Election",
        "Voters in Kalmar went to the polls on Sunday in an election observers called calm.",
        "Turnout reached 64.6 per cent of registered voters, the election board said.",
    )
    with post_index(tmp_path, [("kalmar-vote", NOW, turnout)], NOW) as index:
        for kind in ("percentage", "percent", "proportion"):
            answer = index.ask(f"What {kind} of voters turned out in the Kalmar election?")
            assert answer.grounded, kind
            assert "64.6 per cent" in said(answer)
