"""Defects an outside tester found in topic filters: country names the tagger treats warily,
limits on filters, what unsubscribe does to them, region errors and the Middle East group,
`briefbot tags` input, config errors and help text. Commands run through the real CommandSet,
deliverer and outbox; `briefbot tags` and config loading read real files."""

from __future__ import annotations

import json
from pathlib import Path

import pycountry
import pytest

from bot.cli import main
from bot.commands import REGISTRY
from bot.config import ConfigError, load_settings
from briefings.ask import PassageIndex
from briefings.store import Store
from briefings.tag_search import OPENING_CHARS, tagged_hits
from briefings.tags import parse_tag
from tests.test_delivery import World
from tests.test_delivery import world as world  # the fixture
from tests.test_topics import PARIS, TOKYO, commands, post, run_at, said

MAX_FILTERS = 20  # README: a channel follows at most 20 tags

CAIRO = (
    "Egyptian ministers met in Cairo on Monday. Egypt will raise its defence budget, "
    "Cairo said after the meeting."
)
JERUSALEM = (
    "Israeli ministers met in Jerusalem on Monday. Israel will raise its defence budget, "
    "Jerusalem said after the meeting."
)


# -- 1. country names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("country:Georgia", "ge"),
        ("country:Turkey", "tr"),
        ("country:Jordan", "jo"),
        ("country:Chad", "td"),
        ("country:Niger", "ne"),
        ("country:Guinea", "gn"),
        ("country:cote-d-ivoire", "ci"),
        ("country:Côte_d'Ivoire", "ci"),
        ("country:COTE_D'IVOIRE", "ci"),
        ("country:turkiye", "tr"),
        ("country:united-arab-emirates", "ae"),
    ],
)
async def test_subscribe_by_a_country_name_the_tagger_needs_cues_for(
    world: World, typed: str, code: str
) -> None:
    reply = await commands(world).handle(said(f"subscribe {typed}"))
    assert reply.ok, reply.text
    sub = world.outbox.subscription("chat", "C9")
    assert sub is not None and sub.tags == (f"country:{code}",)


def test_every_library_country_name_written_with_hyphens_is_its_country() -> None:
    for country in pycountry.countries:
        name = country.name.replace(" ", "-")
        assert parse_tag(f"country:{name}") == f"country:{country.alpha_2.lower()}", name


async def test_a_bad_country_error_shows_how_to_write_a_name_of_several_words(
    world: World,
) -> None:
    reply = await commands(world).handle(said("subscribe country:Atlantis"))
    assert not reply.ok and "country:cote-d-ivoire" in reply.text and "\n" not in reply.text


# -- 2. limits ------------------------------------------------------------------------------------


async def test_a_channel_follows_at_most_the_cap_of_tags_and_a_tag_has_a_length_cap(
    world: World,
) -> None:
    chat = commands(world)
    codes = [c.alpha_2.lower() for c in pycountry.countries][: MAX_FILTERS + 5]
    first = " ".join(f"country:{c}" for c in codes[:15])
    assert (await chat.handle(said(f"subscribe {first}"))).ok
    more = " ".join(f"country:{c}" for c in codes[15:])
    refused = await chat.handle(said(f"subscribe {more}"))
    assert not refused.ok and f"at most {MAX_FILTERS}" in refused.text
    sub = world.outbox.subscription("chat", "C9")
    assert sub is not None and len(sub.tags) == 15

    huge = "category:" + "x" * 20_000
    refused = await chat.handle(said(f"subscribe {huge}"))
    assert not refused.ok and "at most 64 characters" in refused.text
    assert len(refused.text) < 300 and "\n" not in refused.text
    sub = world.outbox.subscription("chat", "C9")
    assert sub is not None and len(sub.tags) == 15
    status = await chat.handle(said("status"))
    assert "x" * 100 not in status.text


def test_config_with_too_many_tags_is_an_error_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    tags = ", ".join(f'"category:c{n}"' for n in range(MAX_FILTERS + 1))
    path.write_text(
        f'[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\ntags = [{tags}]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=f"at most {MAX_FILTERS}"):
        load_settings(path)


# -- 3. unsubscribe and filters -------------------------------------------------------------------


async def test_a_full_unsubscribe_clears_filters_and_dropping_the_last_one_says_so(
    world: World,
) -> None:
    chat = commands(world)
    assert (await chat.handle(said("subscribe country:de org:nato"))).ok
    assert (await chat.handle(said("unsubscribe"))).ok
    sub = world.outbox.subscription("chat", "C9")
    assert sub is not None and not sub.active and sub.tags == ()
    assert (await chat.handle(said("subscribe country:fr"))).ok
    sub = world.outbox.subscription("chat", "C9")
    assert sub is not None and sub.tags == ("country:fr",)

    reply = await chat.handle(said("unsubscribe country:fr"))
    assert reply.ok and "no topic filters left" in reply.text
    assert "this channel now gets every post" in reply.text


# -- 4. regions -----------------------------------------------------------------------------------


async def test_a_bad_region_lists_the_real_ones_closest_first(world: World) -> None:
    reply = await commands(world).handle(said("subscribe region:latin-america"))
    assert not reply.ok and "\n" not in reply.text
    assert "region:latin-america-and-the-caribbean" in reply.text
    assert "south-america" in reply.text and "middle-east" in reply.text


async def test_a_channel_following_the_middle_east_gets_posts_about_its_countries(
    world: World,
) -> None:
    world.store.save_posts(
        [
            post("Budget talks", PARIS, "fr", 1),
            post("Budget plans", CAIRO, "eg", 2),
            post("Budget vote", JERUSALEM, "il", 3),
        ]
    )
    chat = commands(world)
    assert (await chat.handle(said("subscribe region:Middle_East"))).ok
    await run_at(world, 25)
    titles = {p.title for p in world.store.latest_posts(3)}
    got = {p.title for p in world.store.latest_posts(3) if p.id in world.platform.posts_to("C9")}
    assert got == {"Budget plans", "Budget vote"} and titles - got == {"Budget talks"}
    hits = (await chat.handle(said("search tag:region:middle-east budget"))).hits
    assert sorted(h.post.title for h in hits) == ["Budget plans", "Budget vote"]


# -- 5. briefbot tags input -----------------------------------------------------------------------


def test_cli_tags_reads_a_bom_and_skips_lines_without_an_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_bytes(
        b"\xef\xbb\xbf"
        + json.dumps(
            {"id": "a", "title": "Kyiv under fire", "text": "The Kremlin said no."}
        ).encode()
        + b'\n{"id": null, "text": "Berlin and Germany."}\n'
        + b'{"text": "Berlin and Germany."}\n'
        + b'{"id": "d", "text": }\n'
    )
    assert main(["tags", str(batch)]) == 1
    out, err = capsys.readouterr()
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a"]
    errors = err.strip().splitlines()
    assert len(errors) == 3
    assert errors[0].startswith(f"briefbot: {batch}:2: skipped: ") and '"id"' in errors[0]
    assert errors[1].startswith(f"briefbot: {batch}:3: skipped: ") and '"id"' in errors[1]
    assert errors[2].startswith(f"briefbot: {batch}:4: skipped: not JSON (")
    assert "column 21" in errors[2] and "line" not in errors[2].split(":4:")[1]


def test_cli_tags_on_a_missing_file_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.jsonl"
    assert main(["tags", str(missing)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines() == [
        f"briefbot: cannot read {missing}: No such file or directory"
    ]


def test_tagging_reads_only_the_opening_of_a_huge_post(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "in.jsonl"
    tail = "Peru voted on Sunday. Lima counted the votes and Peru waited."
    rows = [{"id": "long", "text": "Nothing here. " * 4000 + tail}, {"id": "short", "text": tail}]
    batch.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["tags", str(batch)]) == 0
    tags = {r["id"]: r["tags"] for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert tags == {"long": [], "short": ["country:pe", "region:south-america"]}


# -- 6. config errors -----------------------------------------------------------------------------


def test_config_reports_every_bad_tag_and_the_line_of_tags(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\n'
        'tags = ["country:zz", "org:nope"]\n\n'
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C2"\nwhen = "daily 08:00"\n'
        "tags = [1]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert "\n" not in message  # one line, each bad tag one part of it
    lines = message.split(" | ")
    assert len(lines) == 3
    assert lines[0].startswith(f"{path}:4: subscriptions.0.tags") and '"zz"' in lines[0]
    assert lines[1].startswith(f"{path}:4: subscriptions.0.tags") and "org:nope" in lines[1]
    assert lines[2].startswith(f"{path}:10: subscriptions.1.tags")


# -- 7. help --------------------------------------------------------------------------------------


def test_help_says_which_commands_deal_with_tags() -> None:
    described = {spec.name: spec.description for spec in REGISTRY.commands}
    assert "tag" in described["subscribe"]
    assert "tag" in described["unsubscribe"] and "filters" in described["unsubscribe"]
    assert "topic filters" in described["status"]
    assert all(len(d) <= 100 for d in described.values())  # Discord's limit for a description


def test_cli_tags_skips_a_line_nested_too_deeply_and_tags_the_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "deep.jsonl"
    batch.write_text(
        "[" * 100_000 + "\n" + json.dumps({"id": "b", "text": "Kyiv and Ukraine again."}) + "\n"
    )
    assert main(["tags", str(batch)]) == 1
    out, err = capsys.readouterr()
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["b"]
    [error] = err.strip().splitlines()
    assert error.startswith(f"briefbot: {batch}:1: skipped: not JSON")


@pytest.mark.parametrize("command", ["tags", "summarize"])
def test_a_bad_jsonl_line_is_told_in_plain_words_not_pythons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    batch = tmp_path / "in.jsonl"
    text = "german officials in berlin met german unions ."
    batch.write_bytes(
        f'{{"id": "a", "text": "{text}"}}\n'.encode()
        + f'\ufeff{{"id": "b", "text": "{text}"}}\n'.encode()  # a second file pasted in
        + f'{{"id": 1e400, "text": "{text}"}}\n'.encode()
        + f'{{"id": 12{"0" * 5000}, "text": "{text}"}}\n'.encode()
        + b'{"id": "c", "text": "a tab\t in a string"}\n'  # pasted from a spreadsheet
        + b'{"id": "d", "text": "never closed}'  # the last line, cut short
    )
    assert main([command, str(batch)]) == 1
    out, err = capsys.readouterr()
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a"]
    assert err.strip().splitlines() == [
        f"briefbot: {batch}:2: skipped: not JSON (a byte order mark inside the file at column 1)",
        f'briefbot: {batch}:3: skipped: "id" must be a string or a whole number, not 1e400',
        f"briefbot: {batch}:4: skipped: not JSON this tool reads (a number of more than 4300 "
        "digits)",
        f"briefbot: {batch}:5: skipped: not JSON (Invalid control character at column 27)",
        f"briefbot: {batch}:6: skipped: not JSON (Unterminated string starting at column 21)",
    ]


def test_cli_tags_skips_an_id_that_is_not_a_string_or_whole_number_and_tags_a_null_title(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "in.jsonl"
    berlin = "german officials in berlin met german unions ."
    batch.write_text(
        f'{{"id": NaN, "text": "{berlin}"}}\n'
        f'{{"id": true, "text": "{berlin}"}}\n'
        f'{{"id": 1.5, "text": "{berlin}"}}\n'
        f'{{"id": "ok", "title": null, "text": "{berlin}"}}\n',
        encoding="utf-8",
    )
    assert main(["tags", str(batch)]) == 1
    out, err = capsys.readouterr()
    assert [json.loads(line) for line in out.splitlines()] == [
        {"id": "ok", "tags": ["country:de", "region:western-europe"]}
    ]
    assert err.strip().splitlines() == [
        f'briefbot: {batch}:1: skipped: "id" must be a string or a whole number, not NaN',
        f'briefbot: {batch}:2: skipped: "id" must be a string or a whole number, not true',
        f'briefbot: {batch}:3: skipped: "id" must be a string or a whole number, not 1.5',
    ]


# -- search by tags alone --------------------------------------------------------------------------


@pytest.mark.parametrize("shift", range(8))
def test_a_post_found_by_tags_alone_shows_its_opening_cut_at_a_word(
    store: Store, shift: int
) -> None:
    opening = " ".join([TOKYO, "x" * shift, *["Odd characters reversed bom"] * 20])
    store.save_posts([post("Trade", opening, "jp", 2)])
    index = PassageIndex()
    index.sync(store)
    [hit] = tagged_hits(index, store, "", ["country:jp"], 5)
    shown = hit.snippet
    assert len(opening) > OPENING_CHARS >= len(shown)
    assert shown.endswith("\u2026") and opening.startswith(shown[:-1])
    assert opening[len(shown) - 1] == " "  # the word before the cut is whole
