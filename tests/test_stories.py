"""Story grouping on a fixed week of posts written for these tests (tests/fixtures/story_posts.py)."""

from __future__ import annotations

import dataclasses

from briefings.stories import group_stories, names
from tests.fixtures.story_posts import week_posts, week_tags


def groups(stories: list) -> list[tuple[int, ...]]:
    return [s.post_ids for s in stories]


def test_posts_about_one_event_are_one_story_and_the_rest_stand_alone() -> None:
    stories = group_stories(week_posts())
    # Biggest story first, then the story whose newest post is newest; posts oldest first.
    assert groups(stories) == [(1, 2, 3), (4, 5), (7,), (6,)]


def test_tags_are_optional_and_agree_with_the_grouping() -> None:
    assert groups(group_stories(week_posts(), week_tags())) == [(1, 2, 3), (4, 5), (7,), (6,)]


def test_the_order_posts_arrive_in_changes_nothing() -> None:
    posts = week_posts()
    forward = group_stories(posts)
    backward = group_stories(list(reversed(posts)))
    assert forward == backward


def test_a_story_is_labelled_by_the_names_its_posts_share() -> None:
    ukraine, sudan, *_ = group_stories(week_posts())
    assert {"Putin", "Istanbul"} <= set(ukraine.label.split())
    assert "Fasher" in sudan.label
    assert sudan.label.split()[0] != "The"


def test_a_post_on_its_own_is_labelled_by_its_title() -> None:
    *_, chile, eu = group_stories(week_posts())
    assert chile.label == "Chile chooses a new president"
    assert eu.label == "EU and Japan open tariff talks"


def test_names_leave_out_sentence_openers_titles_and_weekdays() -> None:
    found = names(
        "However, Turkish President Recep Tayyip Erdogan met Mr Zelensky on Monday. "
        "The Bank of England held rates. Officials said Zelensky would fly home."
    )
    assert found == ["turkish", "recep tayyip erdogan", "zelensky", "bank of england", "zelensky"]


def test_lower_cased_text_is_grouped_by_its_distinctive_words() -> None:
    lowered = [
        dataclasses.replace(p, title=p.title.lower(), body=p.body.lower()) for p in week_posts()
    ]
    stories = group_stories(lowered)
    assert {(1, 2, 3), (4, 5)} <= set(groups(stories))


def test_no_posts_no_stories() -> None:
    assert group_stories([]) == []
