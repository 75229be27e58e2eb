"""The weekly roundup: stories in order, regions, and every rendering within its platform's limits."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import console
from adapters.discord import render as discord_render
from adapters.slack import render as slack_render
from bot.cli import main
from briefings.models import PostParts
from briefings.roundup import OTHER_POSTS, Roundup, build_roundup
from briefings.store import NewPost, Store
from tests.fixtures.story_posts import MONDAY, WEEK, make_post, week_posts, week_tags

WEEK_END = MONDAY + timedelta(days=7)


def headings(roundup: Roundup) -> list[tuple[str, list[int]]]:
    return [
        (section.region, [p.post_id for p in story.posts])
        for section in roundup.sections
        for story in section.stories
    ]


def test_stories_come_biggest_first_with_lone_posts_last_newest_first() -> None:
    roundup = build_roundup(week_posts(), MONDAY, WEEK_END)
    assert headings(roundup) == [("", [1, 2, 3]), ("", [4, 5]), ("", [7, 6])]
    first, second, others = roundup.sections[0].stories
    assert first.heading.endswith(": 3 posts") and second.heading.endswith(": 2 posts")
    assert others.heading == f"{OTHER_POSTS}: 2 posts"


def test_stories_of_equal_size_put_the_most_recent_first() -> None:
    # The Sudan posts move after the Ukraine ones in time; drop one Ukraine post so sizes tie.
    posts = [p for p in week_posts() if p.id != 2]
    late = {4: MONDAY + timedelta(days=5), 5: MONDAY + timedelta(days=6)}
    posts = [make_post(p.id, p.title, p.body, late.get(p.id, p.published)) for p in posts]
    order = [ids for _, ids in headings(build_roundup(posts, MONDAY, WEEK_END))]
    assert order[:2] == [[4, 5], [1, 3]]


def test_region_tags_make_one_section_per_region() -> None:
    roundup = build_roundup(week_posts(), MONDAY, WEEK_END, tags=week_tags())
    assert [s.region for s in roundup.sections] == [
        "Eastern Europe",
        "Africa",
        "East Asia",
        "Latin America",
    ]
    assert headings(roundup)[0] == ("Eastern Europe", [1, 2, 3])


def test_posts_outside_the_week_are_left_out() -> None:
    posts = week_posts(start=MONDAY - timedelta(days=3))  # posts 1-3 fall before the week
    roundup = build_roundup(posts, MONDAY, WEEK_END)
    assert sorted(p.post_id for p in roundup.posts) == [4, 5, 6, 7]


# -- renderings within limits, losing no post ------------------------------------------------

_TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("&<>*_|[]()\\ "),
    min_size=1,
    max_size=700,
)


@st.composite
def roundups(draw: st.DrawFn) -> Roundup:
    count = draw(st.integers(min_value=0, max_value=80))
    titles = draw(st.lists(_TEXT, min_size=count, max_size=count))
    long_urls = draw(st.booleans())
    regions = draw(st.lists(st.sampled_from(["", "africa", "east-asia"]), min_size=count))
    posts, tags = [], {}
    for n, title in enumerate(titles, 1):
        url = f"https://irinfive.example/{n}/" + ("x(y)" * 400 if long_urls and n % 7 == 0 else "")
        post = make_post(n, title, title, MONDAY + timedelta(minutes=n))
        posts.append(dataclasses.replace(post, url=url))
        if n - 1 < len(regions) and regions[n - 1]:
            tags[n] = (f"region:{regions[n - 1]}",)
    return build_roundup(posts, MONDAY, WEEK_END, tags=tags)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(roundups())
def test_slack_roundup_stays_within_limits_and_keeps_every_post(roundup: Roundup) -> None:
    messages = slack_render.roundup_messages(roundup)
    texts = []
    for message in messages:
        blocks = message.payload["blocks"]
        assert 1 <= len(blocks) <= slack_render.MAX_BLOCKS
        assert len(message.payload["text"]) <= slack_render.FALLBACK_LIMIT
        for block in blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= slack_render.SECTION_LIMIT
                texts.append(block["text"]["text"])
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= slack_render.HEADER_LIMIT
        if len(blocks) > 1:
            assert len(json.dumps(blocks, ensure_ascii=False)) <= slack_render.MAX_MESSAGE_CHARS
    everything = squeeze("".join(texts))
    for post in roundup.posts:
        assert squeeze(slack_render.escape(post.title)) in everything
        assert squeeze(slack_render.escape(post.url)) in everything or (
            squeeze(slack_render.link(post.url, "x").split("|")[0]) in everything
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(roundups())
def test_discord_roundup_stays_within_limits_and_keeps_every_post(roundup: Roundup) -> None:
    messages = discord_render.roundup_messages(roundup)
    texts = []
    for message in messages:
        payload = message.payload
        assert len(payload["content"]) <= discord_render.CONTENT_LIMIT
        embeds = [discord.Embed.from_dict(e) for e in payload["embeds"]]
        assert len(embeds) <= discord_render.EMBEDS_PER_MESSAGE
        assert sum(len(e) for e in embeds) <= discord_render.EMBED_CHARS_PER_MESSAGE
        for embed in embeds:
            assert len(embed.description or "") <= discord_render.DESCRIPTION_LIMIT
            assert len(embed.title or "") <= discord_render.TITLE_LIMIT
            texts.append(embed.description or "")
    everything = squeeze("".join(texts))
    for post in roundup.posts:
        assert squeeze(discord_render.escape(post.title)) in everything
        url = post.url
        assert squeeze(discord_render._link_url(url)) in everything or (
            squeeze(discord_render.escape(url)) in everything
        )


def test_a_long_roundup_is_split_into_several_messages_on_both_platforms() -> None:
    posts = [
        make_post(n, f"Post {n} " + "about the long week in world affairs " * 12, "", MONDAY)
        for n in range(1, 301)
    ]
    roundup = build_roundup(posts, MONDAY, WEEK_END)
    assert len(roundup.posts) == 300
    assert len(slack_render.roundup_messages(roundup)) > 1
    assert len(discord_render.roundup_messages(roundup)) > 1


def test_terminal_roundup_shows_each_story_heading_and_post() -> None:
    text = console.render_roundup(build_roundup(week_posts(), MONDAY, WEEK_END))
    for post_id, title, _, _ in WEEK:
        assert title in text and f"https://irinfive.example/{post_id}/" in text
    assert re.search(r"^\S.*: 3 posts$", text, re.M)


# -- the command line, on a real SQLite store -------------------------------------------------


def test_cli_roundup_groups_the_stored_posts_of_the_last_days(
    cwd: object, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    store = Store.open(sqlite_url)
    try:
        store.save_posts(
            NewPost(
                source="irinfive",
                guid=f"post-{post_id}",
                url=f"https://irinfive.example/{post_id}/",
                # post 7 is a fortnight old: outside the default week
                published=now - timedelta(days=14 if post_id == 7 else 7 - post_id, hours=1),
                parts=PostParts(title, "", "", (body,), "", "", ()),
            )
            for post_id, title, body, _ in WEEK
        )
    finally:
        store.close()
    assert main(["--db", sqlite_url, "roundup", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    stories = [
        [p["url"].rstrip("/").rsplit("/", 1)[1] for p in story["posts"]]
        for section in data["sections"]
        for story in section["stories"]
    ]
    assert stories == [["1", "2", "3"], ["4", "5"], ["6"]]
    assert main(["--db", sqlite_url, "roundup", "--days", "30"]) == 0
    text = capsys.readouterr().out
    assert "7 posts" in text.splitlines()[0] and "Chile chooses a new president" in text


def test_cli_roundup_refuses_a_bad_day_count(
    cwd: object, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["roundup", "--days", "0"])
    assert stopped.value.code == 2
    assert "must be from 1 to 3650" in capsys.readouterr().err


def test_a_region_name_too_long_for_an_embed_title_is_kept_whole_on_discord() -> None:
    region = "a-very-" + "long-" * 80 + "region"
    tags = {p.id: (f"region:{region}",) for p in week_posts()}
    roundup = build_roundup(week_posts(), MONDAY, WEEK_END, tags=tags)
    name = roundup.sections[0].region
    assert len(name) > discord_render.TITLE_LIMIT
    embeds = [e for m in discord_render.roundup_messages(roundup) for e in m.payload["embeds"]]
    assert all(len(e.get("title", "")) <= discord_render.TITLE_LIMIT for e in embeds)
    assert discord_render.escape(name) in embeds[0]["description"]
