"""Channels following topics: filtered digests through the real deliverer and outbox, edits that
move a post between channels, the commands that set filters, and `briefbot tags`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.contract import Caller, Invocation
from bot.cli import main
from bot.commands import CommandSet
from bot.config import CommandSettings, ConfigError, Settings, load_settings
from bot.topics import recent_topics
from briefings.models import PostParts
from briefings.store import NewPost, Store
from tests.fixtures import legacy_schema
from tests.fixtures.background import background_loop
from tests.fixtures.discord_server import CHANNEL as DISCORD_CHANNEL
from tests.fixtures.discord_server import FakeDiscord
from tests.fixtures.feed_server import FeedServer
from tests.fixtures.posts import ALL_POSTS
from tests.fixtures.slack_server import FakeSlack
from tests.test_delivery import World
from tests.test_delivery import world as world  # the fixture
from tests.test_run import due_subscriptions, slack_section, write_config

PARIS = (
    "French ministers met in Paris on Monday. France will raise its defence budget, "
    "Paris said after the meeting."
)
BERLIN = (
    "German ministers met in Berlin on Monday. Germany will raise its defence budget, "
    "Berlin said after the meeting."
)
TOKYO = "Japanese officials in Tokyo said Japan would cut tariffs. Tokyo expects a deal."


def post(title: str, text: str, slug: str, hour: int) -> NewPost:
    parts = PostParts(
        title=title,
        date_line="11/25 – International News",
        category="International News",
        paragraphs=(text,),
        take_label="Analysis",
        take="Budgets follow threats.",
        attributions=("AP News",),
    )
    url = f"https://irinfive.com/{slug}/"
    return NewPost("irinfive", url, url, datetime(2026, 11, 24, hour, tzinfo=UTC), parts)


async def run_at(world: World, day: int) -> None:
    world.clock.now = datetime(2026, 11, day, 8, 0, tzinfo=UTC)
    await world.deliverer().run_due()


async def test_a_filtered_channel_gets_only_matching_posts(world: World) -> None:
    world.store.save_posts([post("Budget talks", PARIS, "fr", 1), post("Trade", TOKYO, "jp", 2)])
    fr, jp = (p.id for p in world.store.latest_posts(2)[::-1])
    world.subscribe("EUROPE", tags=("region:europe",))
    world.subscribe("ASIA", tags=("country:jp", "org:nato"))
    world.subscribe("ALL")
    await run_at(world, 25)
    assert world.platform.posts_to("EUROPE") == [fr]  # region:europe covers western-europe
    assert world.platform.posts_to("ASIA") == [jp]
    assert sorted(world.platform.posts_to("ALL")) == [fr, jp]


async def test_an_edited_post_moves_to_the_channels_of_its_new_country_and_never_twice(
    world: World,
) -> None:
    world.store.save_posts([post("Budget talks", PARIS, "budget", 1)])
    [moving] = [p.id for p in world.store.latest_posts(1)]
    world.subscribe("FR", tags=("country:fr",))
    world.subscribe("DE", tags=("country:de",))
    world.subscribe("ALL")
    await run_at(world, 25)
    assert world.platform.posts_to("FR") == [moving]
    assert world.platform.posts_to("DE") == []

    world.store.save_posts([post("Budget talks", BERLIN, "budget", 1)])  # the post is edited
    edited = world.store.post(moving)
    assert edited is not None and edited.edited and "country:de" in edited.tags
    assert "country:fr" not in edited.tags
    await run_at(world, 26)
    assert world.platform.posts_to("DE") == [moving]  # it moved into DE's next digest
    assert world.platform.posts_to("FR") == [moving]  # nothing more for FR
    assert world.platform.posts_to("ALL") == [moving]  # already had it: not again

    world.store.save_posts([post("Budget talks", PARIS, "budget", 1)])  # and back
    await run_at(world, 27)
    assert world.platform.posts_to("FR") == [moving]  # FR had it already: never twice
    assert world.platform.posts_to("DE") == [moving]


async def test_channels_with_different_filters_never_share_a_rendered_digest(
    world: World,
) -> None:
    world.store.save_posts([post("Budget talks", PARIS, "fr", 1)])
    world.subscribe("FR", tags=("country:fr",))
    world.subscribe("EUROPE", tags=("region:europe",))
    rendered: list[int] = []
    original = world.platform.render_digest

    def counting(digest):  # type: ignore[no-untyped-def]
        rendered.append(id(digest))
        return original(digest)

    world.platform.render_digest = counting  # type: ignore[method-assign]
    await run_at(world, 25)
    assert len(rendered) == 2 and rendered[0] != rendered[1]


def commands(world: World) -> CommandSet:
    return CommandSet(
        world.store,
        world.engine,
        world.deliverer(),
        # "chat" is the test platform, which config.toml cannot name: not validated.
        Settings(commands=CommandSettings.model_construct(admins=["chat:U-admin"])),
    )


def said(text: str, user: str = "U-admin") -> Invocation:
    return Invocation(caller=Caller("chat", user), channel="C9", text=text)


async def test_subscribe_with_tags_filters_the_channel_and_unsubscribe_drops_one(
    world: World,
) -> None:
    world.store.save_posts([post("Budget talks", PARIS, "fr", 1), post("Trade", TOKYO, "jp", 2)])
    chat = commands(world)
    reply = await chat.handle(said("subscribe irinfive country:FR region:eastern-asia"))
    assert reply.ok and "country:fr or region:eastern-asia" in reply.text
    sub = world.outbox.subscription("chat", "C9")
    assert sub is not None and sub.tags == ("country:fr", "region:eastern-asia")
    assert sub.sources == ("irinfive",)

    status = await chat.handle(said("status"))
    assert "tags: country:fr or region:eastern-asia" in status.text
    preview = await chat.handle(said("preview"))
    assert preview.digest is not None and len(preview.digest.items) == 2
    assert "only posts tagged country:fr or region:eastern-asia" in preview.text

    reply = await chat.handle(said("unsubscribe region:eastern-asia"))
    assert reply.ok and "only posts tagged country:fr" in reply.text
    preview = await chat.handle(said("preview"))
    assert preview.digest is not None
    assert [i.title for i in preview.digest.items] == ["Budget talks"]

    refused = await chat.handle(said("subscribe country:jp", user="U-someone"))
    assert not refused.ok and "Only admins" in refused.text
    sub = world.outbox.subscription("chat", "C9")
    assert sub is not None and sub.tags == ("country:fr",)


@pytest.mark.parametrize(
    ("line", "example"),
    [
        ("subscribe country:atlantis", "country:ua"),
        ("subscribe region:middle-earth", "region:middle-east"),
        ("subscribe colour:blue", "region:eastern-europe"),
        ("search tag:country:zz budget", "country:ua"),
        ("ask tag:org:spectre what did they decide?", "nato"),
        ("subscribe irinfive other", "one source at a time"),
    ],
)
async def test_bad_tags_get_an_error_with_examples(world: World, line: str, example: str) -> None:
    reply = await commands(world).handle(said(line))
    assert not reply.ok and example in reply.text
    assert world.outbox.subscription("chat", "C9") is None


async def test_topics_lists_recent_tags_with_counts_and_tag_terms_narrow_search(
    world: World,
) -> None:
    world.store.save_posts(
        [
            post("Budget talks", PARIS, "fr", 1),
            post("Budget plans", BERLIN, "de", 2),
            post("Trade", TOKYO, "jp", 3),
        ]
    )
    world.clock.now = datetime(2026, 11, 25, 9, tzinfo=UTC)
    chat = commands(world)
    reply = await chat.handle(said("topics", user="U-anyone"))
    assert "country:fr (1)" in reply.text and "region:western-europe (2)" in reply.text
    assert "region:eastern-asia (1)" in reply.text
    later = world.clock.now + timedelta(days=40)
    assert recent_topics(world.store, later) == []

    hits = (await chat.handle(said("search tag:country:de budget"))).hits
    assert [h.post.title for h in hits] == ["Budget plans"]
    hits = (await chat.handle(said("search tag:region:europe budget"))).hits
    assert sorted(h.post.title for h in hits) == ["Budget plans", "Budget talks"]
    answer = (await chat.handle(said("ask tag:country:de what will ministers raise?"))).answer
    assert answer is not None and answer.grounded
    assert [c.title for c in answer.citations] == ["Budget plans"]


async def test_a_question_of_tags_alone_is_refused_saying_it_needs_words(world: World) -> None:
    world.store.save_posts([post("Budget talks", PARIS, "fr", 1)])
    reply = await commands(world).handle(said("ask tag:region:europe"))
    assert not reply.ok and reply.answer is None
    assert "a question needs words besides its tag: filters" in reply.text


@pytest.mark.parametrize("pings", ["@everyone", "<!channel> ?", "@here !!"])
async def test_pings_beside_tags_are_no_words_to_search_or_ask(world: World, pings: str) -> None:
    """A ping is no word: "search tag:country:fr @everyone" lists the tagged posts as the tags alone
    do, a question of tags and pings is refused as one of tags alone, and a search's words lose
    their pings ("<!channel>" must not find "back-channel")."""
    world.store.save_posts(
        [post("Budget talks", PARIS, "fr", 1), post("Channel", "A back-channel opened.", "de", 2)]
    )
    chat = commands(world)
    hits = (await chat.handle(said(f"search tag:country:fr {pings}"))).hits
    assert [h.post.title for h in hits] == ["Budget talks"]
    reply = await chat.handle(said(f"ask tag:country:fr {pings}"))
    assert not reply.ok and "a question needs words besides its tag: filters" in reply.text
    reply = await chat.handle(said(f"search qqqzz {pings}"))
    assert not reply.hits and reply.text.startswith("No posts match 'qqqzz")
    assert "@" not in reply.text and "<!" not in reply.text  # the ping is not echoed


def test_cli_ask_of_tags_alone_is_a_usage_error_in_one_line(
    cwd: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.open(sqlite_url)
    store.save_posts([post("Budget talks", PARIS, "fr", 1)])
    store.close()
    assert main(["--db", sqlite_url, "ask", "tag:region:europe"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines() == [
        "briefbot: a question needs words besides its tag: filters, e.g. tag:region:europe what "
        "was agreed? (search with tags alone lists the newest such posts)"
    ]


def test_cli_tags_writes_one_line_per_post_and_reports_bad_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(
        json.dumps({"id": "a", "title": "Kyiv under fire", "text": "The Kremlin said no."})
        + "\n"
        + '{"id": "b", "text": 3}\n'
        + "not json\n"
        + json.dumps({"id": 7, "text": "german officials in berlin met german unions ."})
        + "\n",
        encoding="utf-8",
    )
    assert main(["tags", str(batch)]) == 1
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines == [
        {"id": "a", "tags": ["country:ua", "region:eastern-europe"]},
        {"id": 7, "tags": ["country:de", "region:western-europe"]},
    ]
    errors = err.strip().splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(f"briefbot: {batch}:2: skipped: needs")
    assert errors[1].startswith(f"briefbot: {batch}:3: skipped: not JSON")


def test_a_scheduled_run_sends_each_platform_only_its_topics(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """config.toml declares a filtered channel on Slack, Discord and the terminal; `run --once`
    sends each, through the real adapters and the loopback fakes, only the posts it follows,
    each with its topics shown."""
    baltic, sudan, japan = ALL_POSTS
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("DISCORD_TOKEN", "fake.token.value")
    declared = (
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\ntags = ["region:europe"]\n'
        f'[[subscriptions]]\nplatform = "discord"\nchannel = "{DISCORD_CHANNEL}"\n'
        'tags = ["country:jp"]\n'
        '[[subscriptions]]\nplatform = "terminal"\nchannel = "terminal"\ntags = ["region:africa"]\n'
    )
    with background_loop() as loop:
        slack = loop.run(FakeSlack().start())
        discord_fake = loop.run(FakeDiscord().start())
        try:
            config = write_config(tmp_path, feed_server, more=slack_section(slack) + declared)
            assert main(["--config", str(config), "run", "--once"]) == 0  # stores, none due
            capsys.readouterr()
            due_subscriptions(tmp_path, ("slack", "C1"), ("discord", DISCORD_CHANNEL))
            due_subscriptions(tmp_path, ("terminal", "terminal"))
            code = main(["--config", str(config), "run", "--once"])
        finally:
            loop.run(discord_fake.stop())
            loop.run(slack.stop())
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "3 digest run(s) due" in err
    [to_slack] = slack.posted("C1")
    blocks = json.dumps(to_slack["blocks"], ensure_ascii=False)
    assert baltic.title in blocks and sudan.title not in blocks and japan.title not in blocks
    assert "Topics: Estonia" in blocks and "Northern Europe" in blocks
    [to_discord] = discord_fake.posted(DISCORD_CHANNEL)
    embeds = json.dumps(to_discord["embeds"], ensure_ascii=False)
    assert japan.title in embeds and baltic.title not in embeds and sudan.title not in embeds
    assert "Japan · Eastern Asia" in embeds
    assert sudan.title in out and baltic.title not in out and japan.title not in out
    assert "Topics: " in out and "Sudan" in out


def test_posts_stored_before_tags_existed_get_their_tags_when_read(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    legacy_schema.make_legacy_database(engine, 7)  # a database of the release before tags
    at = datetime(2025, 3, 1, 9, 0)
    with engine.begin() as conn:
        post_id = conn.execute(
            legacy_schema.posts.insert()
            .returning(legacy_schema.posts.c.id)
            .values(
                source="irinfive",
                url="https://irinfive.com/fr/",
                guid="https://irinfive.com/fr/",
                title="Budget talks",
                published=at,
                category="International News",
                date_line="11/25 – International News",
                body=PARIS,
                take_label="Analysis",
                take="Budgets follow threats.",
                attributions=json.dumps(["AP News"]),
                content_hash="0" * 64,
                first_seen=at,
                updated_at=at,
                edited=False,
            )
        ).scalar_one()
        conn.execute(
            legacy_schema.post_aliases.insert().values(
                alias="https://irinfive.com/fr", post_id=post_id
            )
        )
    engine.dispose()

    store = Store.open(url)
    try:
        [old] = store.latest_posts(1)
        assert old.tags == ("country:fr", "region:western-europe")
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT tags FROM posts")).scalar() is None  # lazily
        store.save_posts([post("Budget talks", BERLIN, "fr", 1)])  # an edit stores them
        with store.engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT tags FROM posts")).scalar()
        assert json.loads(stored) == ["country:de", "region:western-europe"]
    finally:
        store.close()


def test_json_outputs_carry_tags_and_feed_categories_are_kept(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_config(tmp_path, feed_server))
    assert main(["--config", config, "ingest"]) == 0
    capsys.readouterr()
    assert main(["--config", config, "posts", "--json"]) == 0
    listed = {p["title"]: p["tags"] for p in json.loads(capsys.readouterr().out)}
    japan = ALL_POSTS[2]
    assert listed[japan.title] == [
        "country:jp",
        "region:eastern-asia",
        "org:eu",
        "category:international-news",  # the feed's WordPress category, kept
    ]
    assert main(["--config", config, "search", "tag:country:jp", "--json"]) == 0
    assert [h["title"] for h in json.loads(capsys.readouterr().out)] == [japan.title]
    assert main(["--config", config, "search", "tag:bogus", "--json"]) == 2
    assert "tags look like" in capsys.readouterr().err
    assert main(["--config", config, "digest", "--no-refresh", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert {i["title"]: i["tags"] for i in items}[japan.title] == listed[japan.title]


def test_a_bad_tag_in_config_toml_names_the_key_and_shows_examples(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\ntags = ["country:UA", "europe"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"subscriptions\.0\.tags") as info:
        load_settings(path)
    assert "region:eastern-europe" in str(info.value)
    path.write_text(
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\ntags = ["country:UA"]\n',
        encoding="utf-8",
    )
    assert load_settings(path).subscriptions[0].tags == ["country:ua"]
