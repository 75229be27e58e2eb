"""Questions as people type them (issue #14, a stranger's fresh questions): other words than the
post's, numbers in words, mentions, periods; and answers that cite exactly what they quote."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.console import render_answer
from briefings.ask import PassageIndex
from briefings.models import Answer, PostParts
from tests.fixtures.answer_index import BASE, post_index, said


def _parts(title: str, paragraphs: tuple[str, ...], take: str = "") -> PostParts:
    return PostParts(
        title=title,
        date_line="",
        category="Europe",
        paragraphs=paragraphs,
        take_label="Analysis" if take else "",
        take=take,
        attributions=(),
    )


GOTLAND = _parts(
    "Coastguard Rescues Tanker Crew Off Gotland",
    (
        "Swedish coastguard helicopters rescued 24 crew members from a burning tanker off "
        "Gotland on Sunday.",
        "The operation lasted four hours in heavy seas. Two aircraft from the Finnish air force "
        "joined the search.",
        "In Visby, 71 residents were evacuated from homes near the harbour as smoke drifted "
        "ashore.",
    ),
)
COD_BAN = _parts(
    "Norway Scraps Its Ban On Cod Fishing",
    (
        "Norway scrapped its ban on cod fishing in the Barents Sea in March, after surveys "
        "showed the stock had recovered.",
    ),
)
BALTIC_FUND = _parts(
    "Baltic States Pool Money For Air Defence",
    (
        "Baltic defence ministers agreed a joint air-defence fund in Riga. The fund will buy "
        "120 interceptors for Kyiv.",
    ),
)
BALTIC_AFTER = _parts(
    "Estonia Debates Its Defence Budget",
    (
        "Estonian lawmakers debated the defence budget on Tuesday. Some asked how many "
        "interceptors the Baltic fund would buy for Estonia itself, and who would audit it.",
    ),
)
ARCTIC_OIL = _parts(
    "Norway Tightens Arctic Tanker Rules",
    ("Norway tightened the rules for tankers sailing in the Arctic. Ships must carry ice pilots.",),
    take="The new rules will raise the cost of Arctic oil for every buyer in Europe.",
)
ARCTIC_TALKS = _parts(
    "Arctic Council Meets In Tromsø",
    ("Arctic Council members met in Tromsø and discussed the cost of Arctic oil spills.",),
)

# Saturday 21 November 2026: "this week" runs from Monday the 16th.
NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
POSTS = [
    ("gotland", datetime(2026, 11, 17, tzinfo=UTC), GOTLAND),
    ("cod-ban", datetime(2026, 11, 2, tzinfo=UTC), COD_BAN),
    ("baltic-fund", datetime(2026, 10, 20, tzinfo=UTC), BALTIC_FUND),
    ("estonia-budget", datetime(2026, 10, 22, tzinfo=UTC), BALTIC_AFTER),
    ("arctic-oil", datetime(2026, 11, 19, tzinfo=UTC), ARCTIC_OIL),
    ("arctic-talks", datetime(2026, 11, 5, tzinfo=UTC), ARCTIC_TALKS),
]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PassageIndex]:
    with post_index(tmp_path, POSTS, NOW) as built:
        yield built


def cited(answer: Answer) -> list[str]:
    return [c.url.removeprefix(BASE).strip("/") for c in answer.citations]


@pytest.mark.parametrize(
    ("question", "fact", "post"),
    [
        # "sailors": the post says "crew".
        ("How many sailors did the helicopters save?", "24 crew", "gotland"),
        # "lifted": the post says "scrapped".
        ("When was Norway's cod fishing ban lifted?", "March", "cod-ban"),
        # "take place": the post says where, not that it took place.
        ("Where did the tanker rescue take place?", "Gotland", "gotland"),
    ],
)
def test_a_question_in_other_words_than_the_post_is_answered(
    index: PassageIndex, question: str, fact: str, post: str
) -> None:
    answer = index.ask(question)
    assert answer.grounded, question
    assert fact in said(answer)
    assert cited(answer) == [post]


@pytest.mark.parametrize(
    "question",
    [
        "Where were seventy-one residents evacuated?",
        "Were two dozen crew rescued?",
    ],
)
def test_numbers_written_in_words_match_the_digits_in_the_post(
    index: PassageIndex, question: str
) -> None:
    answer = index.ask(question)
    assert answer.grounded, question
    assert cited(answer) == ["gotland"]


def test_near_misses_are_still_declined(index: PassageIndex) -> None:
    for question in (
        "How many seats did the Greens win in the Tasmanian election?",
        "Who designed the new parliament building in Nairobi?",
        "When was the ban on whaling in Iceland lifted?",
    ):
        assert not index.ask(question).grounded, question


@pytest.mark.parametrize("mention", ["@everyone", "<!channel>", "<@U0123ABC>", "<@!1234567890>"])
def test_a_mention_in_a_question_is_ignored_and_never_echoed(
    index: PassageIndex, mention: str
) -> None:
    answer = index.ask(f"{mention} how many crew were rescued off Gotland?")
    assert answer.grounded
    assert "24 crew" in said(answer)
    assert mention not in said(answer) and "@" not in said(answer)


def test_an_answer_cites_exactly_the_posts_it_quotes(index: PassageIndex) -> None:
    """The budget post names the Baltic fund too, but the answer quotes the fund's own post."""
    answer = index.ask("How many interceptors will the Baltic fund buy?")
    assert answer.grounded and "120" in said(answer)
    assert cited(answer) == ["baltic-fund"]


def test_a_period_in_the_question_keeps_to_posts_published_then(index: PassageIndex) -> None:
    answer = index.ask("What have the posts said about the Arctic this week?")
    assert answer.grounded
    assert cited(answer) == ["arctic-oil"]
    answer = index.ask("What did the posts say about the Baltic fund in October?")
    assert answer.grounded and set(cited(answer)) <= {"baltic-fund", "estonia-budget"}
    assert "Norway" not in said(answer)
    answer = index.ask("What was written about Norway since Monday?")
    assert answer.grounded and cited(answer) == ["arctic-oil"]


def test_a_period_whose_posts_do_not_cover_it_says_so_before_other_dates(
    index: PassageIndex,
) -> None:
    """No post of September covers the cod ban (none was published then): the answer says so
    before quoting the November post, whose date its citation shows."""
    answer = index.ask("What did the posts say about Norway's cod ban in September?")
    assert answer.grounded
    first, rest = answer.text.split("\n", 1)
    assert first == "No posts published in September cover that; from other dates:"
    assert "scrapped its ban on cod fishing" in rest
    assert cited(answer) == ["cod-ban"]
    answer = index.ask("What have the posts said this week about whaling in Iceland?")
    assert not answer.grounded


def test_last_month_is_the_calendar_month_before_now(tmp_path: Path) -> None:
    december = datetime(2026, 12, 3, tzinfo=UTC)
    with post_index(tmp_path, POSTS, december) as index:
        answer = index.ask("What did the posts say last month about Arctic oil?")
        assert answer.grounded
        assert set(cited(answer)) == {"arctic-oil", "arctic-talks"}
        answer = index.ask("What did the posts say this week about Arctic oil?")
        assert answer.text.startswith("No posts published this week cover that; from other dates:")


def test_a_take_quoted_among_several_posts_is_labelled_as_the_posts_view(
    index: PassageIndex,
) -> None:
    answer = index.ask("What have the posts said about the cost of Arctic oil?")
    assert answer.grounded
    lines = answer.text.splitlines()
    assert len(lines) == 2
    take = next(line for line in lines if "raise the cost" in line)
    assert take.startswith("Norway Tightens Arctic Tanker Rules (irinfive, 2026-11-19): ")
    assert "The post's analysis (its view, not reported fact): The new rules" in take
    report = next(line for line in lines if "Tromsø" in line)
    assert "its view" not in report


def test_the_terminal_prints_one_quote_per_line_with_its_post(index: PassageIndex) -> None:
    answer = index.ask("What have the posts said about the cost of Arctic oil?")
    printed = render_answer(answer, width=200).splitlines()
    assert printed[0].startswith("Norway Tightens Arctic Tanker Rules (irinfive, 2026-11-19): ")
    assert printed[1].startswith("Arctic Council Meets In Tromsø (irinfive, 2026-11-05): ")
    assert printed[2] == "Sources:"
