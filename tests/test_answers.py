"""Answers that hold the asked-for fact, never repeat a sentence, and span posts when asked to."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from briefings.ask import PassageIndex
from briefings.models import Answer, PostParts
from briefings.sentences import split_sentences
from briefings.store import NewPost, Store

BASE = "https://irinfive.com"

BALTIC = PostParts(
    title="Baltic States Pool Money For Air Defence",
    date_line="11/03 – Europe",
    category="Europe",
    paragraphs=(
        "Baltic defence ministers met in Riga on Monday to discuss a joint air-defence fund for "
        "Ukraine.",
        "The ministers said the fund would buy radar and interceptors for Kyiv. The first "
        "delivery is 120 of them. Officials described the fund as the largest joint purchase "
        "the Baltic states have made. It will total 400 million euros over two years.",
        "Who Runs It",
        "A former Estonian general will manage the money. He served in military intelligence "
        "for a decade. In those years he went by 'Harbour' among colleagues.",
    ),
    take_label="Analysis",
    take="The fund is small beside the need. It signals that the Baltic states expect to pay "
    "for their own security.",
    attributions=("ERR",),
)
ARCTIC_COUNCIL = PostParts(
    title="Arctic Council Meets In Tromsø",
    date_line="11/10 – Arctic",
    category="Arctic",
    paragraphs=(
        "Arctic Council members met in Tromsø to restart scientific cooperation in the Arctic. "
        "Russia was not invited.",
    ),
    take_label="",
    take="",
    attributions=(),
)
ARCTIC_SHIPPING = PostParts(
    title="Arctic Shipping Rules Tighten",
    date_line="11/20 – Arctic",
    category="Arctic",
    paragraphs=(
        "Norway tightened the rules for tankers sailing through the Arctic this week. Ships "
        "must now carry ice pilots.",
    ),
    take_label="",
    take="",
    attributions=(),
)


def _store(path: Path, posts: list[tuple[str, datetime, PostParts]]) -> Store:
    store = Store.open(f"sqlite:///{path / 'answers.db'}")
    store.save_posts(
        NewPost("irinfive", f"{BASE}/{slug}/", f"{BASE}/{slug}/", when, parts)
        for slug, when, parts in posts
    )
    return store


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PassageIndex]:
    store = _store(
        tmp_path,
        [
            ("baltic-fund", datetime(2026, 11, 3, tzinfo=UTC), BALTIC),
            ("arctic-council", datetime(2026, 11, 10, tzinfo=UTC), ARCTIC_COUNCIL),
            ("arctic-shipping", datetime(2026, 11, 20, tzinfo=UTC), ARCTIC_SHIPPING),
        ],
    )
    # "This month" in a question: November 2026, whatever day the tests run.
    now = datetime(2026, 11, 25, tzinfo=UTC)
    built = PassageIndex(store=store, path=tmp_path / "index", clock=lambda: now)
    built.sync()
    yield built
    store.close()


def said(answer: Answer) -> str:
    return f"{answer.text}\n{answer.opinion}"


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        # The number stands a sentence after the question's words.
        ("How many interceptors will the fund buy for Kyiv?", "120"),
        # The name stands in the sentence after the one the question's words are in.
        ("What name did the general use in military intelligence?", "'Harbour'"),
    ],
)
def test_the_answer_holds_the_kind_of_fact_asked_for(
    index: PassageIndex, question: str, fact: str
) -> None:
    answer = index.ask(question)
    assert answer.grounded and fact in said(answer)
    assert answer.citations[0].url == f"{BASE}/baltic-fund/"


def test_what_the_post_concludes_is_its_take_labelled_as_its_view(index: PassageIndex) -> None:
    answer = index.ask("What does the post conclude about the Baltic fund?")
    assert answer.grounded
    assert "its view" in answer.text and "expect to pay for their own security" in answer.text


def test_a_question_about_a_headed_section_is_answered_from_it(index: PassageIndex) -> None:
    answer = index.ask("Who runs the Baltic fund?")
    assert answer.grounded and "former Estonian general" in said(answer)


def test_a_question_over_a_period_quotes_each_post_newest_first(index: PassageIndex) -> None:
    answer = index.ask("What have the posts said about the Arctic this month?")
    assert answer.grounded
    assert [c.url for c in answer.citations] == [
        f"{BASE}/arctic-shipping/",
        f"{BASE}/arctic-council/",
    ]
    lines = answer.text.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Arctic Shipping Rules Tighten (irinfive, 2026-11-20): ")
    assert lines[1].startswith("Arctic Council Meets In Tromsø (irinfive, 2026-11-10): ")


def test_a_question_worded_otherwise_is_answered_and_unanswered_ones_still_declined(
    index: PassageIndex,
) -> None:
    # "Large" is nowhere in the post, which states the amount.
    answer = index.ask("How large was the fund?")
    assert answer.grounded and "400 million euros" in said(answer)
    for question in (
        "How many seats did the Greens win in the Tasmanian election?",
        "Who designed the new parliament building in Nairobi?",
    ):
        assert not index.ask(question).grounded


_POOL = (
    "The harbour fund pays for radar in Tallinn.",
    "The harbour fund was agreed by three ministers.",
    "Radar near the harbour is old.",
    "Ministers will meet again in spring.",
    "The fund may grow next year.",
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    picks=st.lists(st.integers(0, len(_POOL) - 1), min_size=1, max_size=12),
    paragraph_size=st.integers(1, 4),
    question=st.sampled_from(
        [
            "What does the harbour fund pay for?",
            "How many ministers agreed the harbour fund?",
            "Where is the radar?",
            "When will ministers meet?",
        ]
    ),
)
def test_no_sentence_is_quoted_twice(picks: list[int], paragraph_size: int, question: str) -> None:
    """However often a post repeats a sentence, an answer quotes it once."""
    sentences = [_POOL[i] for i in picks]
    paragraphs = tuple(
        " ".join(sentences[i : i + paragraph_size])
        for i in range(0, len(sentences), paragraph_size)
    )
    take = " ".join(sentences[:paragraph_size])
    parts = PostParts("Harbour Fund", "", "", paragraphs, "Analysis", take, ())
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(Path(tmp), [("harbour", datetime(2026, 11, 1, tzinfo=UTC), parts)])
        index = PassageIndex(store=store)
        index.sync()
        answer = index.ask(question)
        store.close()
    quoted = [
        s
        for part in (answer.text, answer.opinion.split(": ", 1)[-1])
        for s in split_sentences(part)
        if s.strip()
    ]
    words = [re.sub(r"\W+", " ", s).strip().lower() for s in quoted]
    assert len(words) == len(set(words)), quoted


def test_a_summary_never_repeats_a_body_sentence_the_take_repeats(tmp_path: Path) -> None:
    """Posts often restate a reported fact in their take: the answer still says it once."""
    cable = PostParts(
        title="Baltic Cable Cut Investigated",
        date_line="11/12 – Europe",
        category="Europe",
        paragraphs=(
            "A data cable between Finland and Estonia was cut on Sunday. Investigators believe "
            "the ship dragged its anchor for a hundred kilometres. Finland detained the crew.",
        ),
        take_label="Analysis",
        take="Investigators believe the ship dragged its anchor for a hundred kilometres. "
        "Accidents of that length are hard to believe.",
        attributions=("Yle",),
    )
    store = _store(tmp_path, [("cable", datetime(2026, 11, 12, tzinfo=UTC), cable)])
    try:
        index = PassageIndex(store=store, path=tmp_path / "index")
        index.sync()
        answer = index.ask("Summarize the Baltic cable post")
        assert answer.grounded
        assert said(answer).count("dragged its anchor") == 1
    finally:
        store.close()
