"""Questions answered from stored posts: the right post, cited, honest when the posts are silent."""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import briefings.index as index_module
import briefings.store as store_module
import briefings.terms as terms_module
from bot.cli import main
from briefings.ask import NOT_COVERED, PassageIndex
from briefings.ask_llm import LLMAnswerer
from briefings.index import INDEX_FORMAT, SCORE_SLACK, SearchIndex
from briefings.llm import ChatClient, LLMSettings
from briefings.models import PostParts
from briefings.store import NewPost, Store
from briefings.text import split_post
from tests.fixtures.llm_server import LLMServer, Reply
from tests.fixtures.loopback import loopback_client
from tests.fixtures.posts import (
    ALL_POSTS,
    CEASEFIRE_REACTION,
    SEED_DIR,
    SUDAN_AID,
    TARIFF_TALKS,
    FixturePost,
    rss_feed,
)

BASE = "https://irinfive.com"
SEED = SEED_DIR / "irinfive-post-putin-ceasefire.txt"
SEED_URL = f"{BASE}/putin-delays-ceasefire-acceptance/"


def as_new(post: FixturePost) -> NewPost:
    return NewPost(
        "irinfive",
        post.link(BASE),
        post.link(BASE),
        post.published,
        split_post(post.content_html(), post.title),
    )


@pytest.fixture
def index(store: Store) -> PassageIndex:
    items = [as_new(p) for p in ALL_POSTS]
    if SEED.is_file():
        items.append(
            NewPost(
                "irinfive",
                SEED_URL,
                SEED_URL,
                datetime(2025, 3, 21, tzinfo=UTC),
                split_post(SEED.read_text()),
            )
        )
    store.save_posts(items)
    built = PassageIndex()
    built.sync(store)
    return built


def test_answers_from_the_right_post_with_a_citation(index: PassageIndex) -> None:
    answer = index.ask("What did Estonia propose?")
    assert answer.grounded
    assert "joint fund of 400 million euros" in answer.text
    assert answer.citations[0].url == CEASEFIRE_REACTION.link(BASE)
    assert answer.citations[0].title == CEASEFIRE_REACTION.title


def test_seed_post_questions(index: PassageIndex) -> None:
    if not SEED.is_file():
        pytest.skip("seed post not present")
    demand = index.ask("What did Russia demand for a full ceasefire?")
    assert demand.grounded and demand.citations[0].url == SEED_URL
    assert "end to all Western military and intelligence support" in demand.text
    distrust = index.ask("Why does Poland distrust this?", context=index.post_ids_for([SEED_URL]))
    assert distrust.citations[0].url == SEED_URL
    assert "distrust in Putin’s intentions" in distrust.text


def test_thread_context_prefers_the_digest_post(index: PassageIndex) -> None:
    sudan = index.post_ids_for([SUDAN_AID.link(BASE)])
    baltic = index.post_ids_for([CEASEFIRE_REACTION.link(BASE)])
    assert index.ask("When will talks resume?", context=sudan).citations[0].url == SUDAN_AID.link(
        BASE
    )
    assert index.ask("Who did not join the fund?", context=baltic).citations[
        0
    ].url == CEASEFIRE_REACTION.link(BASE)
    assert index.ask(
        "What were the talks about?", context=index.post_ids_for([TARIFF_TALKS.link(BASE)])
    ).citations[0].url == TARIFF_TALKS.link(BASE)


def test_the_posts_take_is_labelled_as_its_view(index: PassageIndex) -> None:
    answer = index.ask("What do the mediators get wrong about access?")
    assert answer.grounded and answer.citations[0].url == SUDAN_AID.link(BASE)
    assert answer.opinion.startswith(
        "The post's opinion (its view, not reported fact): Mediators keep treating access"
    )
    assert "bargaining chip" not in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "What is the price of bitcoin in Argentina?",
        "Who won the Eurovision song contest?",
        "How do I bake sourdough bread?",
    ],
)
def test_says_so_when_the_posts_do_not_cover_it(index: PassageIndex, question: str) -> None:
    answer = index.ask(question)
    assert not answer.grounded
    assert answer.text == NOT_COVERED
    assert answer.opinion == ""


def test_index_follows_edits_and_new_posts(store: Store, index: PassageIndex) -> None:
    edited = replace(
        SUDAN_AID,
        paragraphs=(*SUDAN_AID.paragraphs, "Egypt offered to host the next round in Cairo."),
    )
    novel = FixturePost(
        slug="arctic-council",
        title="Arctic Council Resumes Work",
        date_line="4/09 – Arctic",
        paragraphs=(
            "The Arctic Council resumed technical meetings in Tromsø after a two-year pause.",
        ),
        take_label="",
        take=(),
    )
    store.save_posts([as_new(edited), as_new(novel)])
    assert index.sync(store) == 2
    assert "Cairo" in index.ask("Where will the next round of Sudan talks be hosted?").text
    assert (
        index.ask("Where did the Arctic Council meet?").citations[0].title
        == "Arctic Council Resumes Work"
    )
    assert len(index) == len(ALL_POSTS) + 1 + SEED.is_file()


def test_search_lists_matching_posts_best_first(index: PassageIndex) -> None:
    hits = index.search("tariffs steel")
    assert hits[0].post.title == TARIFF_TALKS.title
    assert index.search("zeppelin") == []


CJK_POST = replace(
    SUDAN_AID,
    slug="cjk-dialogue",
    title="危机对话",
    paragraphs=("中国外交部表示北京支持通过对话解决危机。", "東京タワーで会議が開かれた。"),
    take=(),
)
THAI_POST = replace(
    SUDAN_AID,
    slug="thai-capital",
    title="ข่าว",
    paragraphs=(
        "กรุงเทพมหานครเป็นเมืองหลวงและนครที่มีประชากรมากที่สุดของประเทศไทย"
        " เป็นศูนย์กลางการปกครอง การศึกษา การคมนาคมขนส่ง การเงินการธนาคาร",
    ),
    take=(),
)
KOREAN_POST = replace(
    SUDAN_AID,
    slug="korea-talks",
    title="회담",
    paragraphs=("북한은 서울에서 열린 회의에서 대화를 제안했다.",),  # particles: 북한+은, 서울+에서
    take=(),
)


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("북한", KOREAN_POST.title),
        ("서울", KOREAN_POST.title),
        ("중국외교부", None),  # a Korean spelling the post lacks
        ("中国外交部", CJK_POST.title),
        ("北京", CJK_POST.title),
        ("对话", CJK_POST.title),
        ("タワー", CJK_POST.title),
        ("เมืองหลวง", THAI_POST.title),
    ],
)
def test_a_word_inside_a_run_of_unspaced_script_is_found(
    store: Store, query: str, title: str | None
) -> None:
    """Korean puts spaces between words, but a particle joins the noun ("북한은"): its runs are read
    as character pairs too, so the noun alone finds the post."""
    store.save_posts([as_new(p) for p in (*ALL_POSTS, CJK_POST, THAI_POST, KOREAN_POST)])
    built = PassageIndex()
    built.sync(store)
    assert [h.post.title for h in built.search(query)][:1] == ([title] if title else [])
    assert built.search("Москва") == []  # spaced scripts are words as before


def _filler(post: str, count: int) -> str:
    """One sentence of `count` made-up terms, none shared with any other post."""
    return " ".join(f"zo{post}{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(count)) + "."


def test_a_near_tie_goes_to_the_post_exact_bm25_prefers(tmp_path: Path) -> None:
    """Tantivy stores a document's length in one byte: 96 and 103 terms look alike to it, so alone
    it would tie these posts (and the later one would win). Exact BM25 puts first the shorter post,
    where the asked-for word weighs more, as an in-memory BM25 does."""
    store = Store.open(f"sqlite:///{tmp_path / 'tie.db'}")
    store.save_posts(
        NewPost(
            "irinfive",
            f"{BASE}/{name}/",
            f"{BASE}/{name}/",
            datetime(2025, 4, day, tzinfo=UTC),
            PostParts("", "", "", (f"Quorvane {_filler(name, length - 1)}",), "", "", ()),
        )
        for day, (name, length) in enumerate((("short", 96), ("long", 103)), start=1)
    )
    index = PassageIndex(store=store, path=tmp_path / "index")
    index.sync()

    hits = index.search("quorvane")
    assert [hit.post.url for hit in hits] == [f"{BASE}/short/", f"{BASE}/long/"]
    assert hits[0].score > hits[1].score
    # As good as each other, they are both quoted in the answer, newest first.
    answer = index.ask("What about quorvane?")
    assert [c.url for c in answer.citations] == [f"{BASE}/long/", f"{BASE}/short/"]
    store.close()


def test_exact_scores_and_their_bands_hold_for_every_length(store: Store) -> None:
    """Ranking rescores only hits whose exact BM25 could differ from Tantivy's in a way that matters,
    trusting each hit's band [low, score x SCORE_SLACK]; the exact score, computed from Tantivy's
    term counts and the exact length, must be BM25's and lie in that band for every length."""
    lengths = [*range(1, 60), *range(60, 700, 7)]
    store.save_posts(
        NewPost(
            "irinfive",
            f"{BASE}/len{n}/",
            f"{BASE}/len{n}/",
            datetime(2025, 4, 1, tzinfo=UTC),
            PostParts(
                "",
                "",
                "",
                (" ".join(["quorvane"] * (1 + n % 3) + [f"fill{n}"] * n) + ".",),
                "",
                "",
                (),
            ),
        )
        for n in lengths
    )
    index = SearchIndex(None)
    index.sync(store)
    hits = index.top_posts(["quorvan"], 1000)
    scores = index.exact_scorer("posts", ["quorvan"])([hit.address for hit in hits])
    docs = len(lengths)
    idf = math.log(1 + (docs - docs + 0.5) / (docs + 0.5))
    total = {n: 1 + n % 3 + n for n in lengths}
    average = sum(total.values()) / docs
    by_url = {p.id: p.url for p in store.posts_by_ids([hit.post for hit in hits])}
    assert len(hits) == docs
    for hit, exact in zip(hits, scores, strict=True):
        n = int(by_url[hit.post].rstrip("/").rsplit("len", 1)[1])
        tf = 1 + n % 3
        expected = idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * total[n] / average))
        assert exact == pytest.approx(expected, rel=1e-4)
        assert hit.low <= exact <= hit.score * SCORE_SLACK


def test_ask_and_search_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss_feed(BASE, ALL_POSTS))
    db = ["--db", f"sqlite:///{tmp_path / 'b.db'}"]
    assert main([*db, "ask", "anything"]) == 1
    assert "no posts stored yet" in capsys.readouterr().err
    assert main([*db, "ingest", "--feed", str(feed)]) == 0
    capsys.readouterr()

    assert main([*db, "ask", "What did Estonia propose?", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["grounded"] is True and "400 million euros" in out["answer"]
    assert out["citations"][0] == {
        "url": CEASEFIRE_REACTION.link(BASE),
        "title": CEASEFIRE_REACTION.title,
        "published": "2025-03-21T14:00:00+00:00",
    }

    assert main([*db, "ask", "Who did not join?", "--post", CEASEFIRE_REACTION.link(BASE)]) == 0
    text = capsys.readouterr().out
    assert "Poland endorsed the monitoring demand but did not join the fund." in text
    assert f"Source:\n  - {CEASEFIRE_REACTION.title}" in text

    batch = tmp_path / "q.jsonl"
    batch.write_text(
        json.dumps({"id": 1, "question": "When will Sudan talks resume?"})
        + "\n"
        + json.dumps({"id": 2, "question": "Who won the Eurovision song contest?"})
        + "\n"
        + json.dumps(
            {"id": 3, "question": "What did they demand?", "posts": [CEASEFIRE_REACTION.link(BASE)]}
        )
        + "\n"
        + '{"question": "no id"}\n'
        + "".join(
            json.dumps({"id": n, "question": q}) + "\n"
            for n, q in [
                (5, "tag:region:europe"),
                (6, "tag:bogus who"),
                (7, "@everyone"),
                (8, "When will Sudan talks resume?"),
                (9, "@here?"),
            ]
        )
    )
    assert main([*db, "ask", "--batch", str(batch)]) == 1
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [line["id"] for line in lines] == [1, 2, 3, 8]  # a bad line never ends the run
    skipped = captured.err.splitlines()
    assert len(skipped) == 5 and all(": skipped: " in line for line in skipped)
    assert f"{batch}:5: skipped: a question needs words besides its tag" in skipped[1]
    assert f'{batch}:6: skipped: "bogus" is not a tag' in skipped[2]
    assert f"{batch}:7: skipped: the question is blank" in skipped[3]
    assert f"{batch}:9: skipped: the question is blank" in skipped[4]  # mentions and a mark
    assert lines[0]["grounded"] and lines[0]["citations"][0]["title"] == SUDAN_AID.title
    assert not lines[1]["grounded"] and lines[1]["answer"] == NOT_COVERED
    assert lines[2]["citations"][0]["url"] == CEASEFIRE_REACTION.link(BASE)
    assert "q.jsonl:4: skipped" in captured.err

    assert main([*db, "search", "famine", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["title"] == SUDAN_AID.title


# -- the persistent index ---------------------------------------------------------------------


def test_the_index_persists_and_a_new_process_reindexes_only_changes(
    store: Store, tmp_path: Path
) -> None:
    store.save_posts([as_new(p) for p in ALL_POSTS])
    path = tmp_path / "index"
    first = PassageIndex(store=store, path=path)
    assert first.sync(store) == len(ALL_POSTS)

    again = PassageIndex(store=store, path=path)  # as a second process would open it
    assert again.sync(store) == 0
    assert "400 million euros" in again.ask("What did Estonia propose?").text

    edited = replace(
        SUDAN_AID,
        paragraphs=("Egypt offered to host the next round of talks in Cairo.",),
        take=(),
    )
    store.save_posts([as_new(edited)])
    assert again.sync(store) == 1
    assert first.sync(store) == 0  # the other process already brought the shared index up to date
    assert len(first) == len(ALL_POSTS)
    assert "Cairo" in first.ask("Where will the next round of Sudan talks be hosted?").text
    # the old text of the edited post is no longer indexed
    assert not first.ask("What do the mediators get wrong about access?").grounded


def test_posts_updated_at_is_indexed_for_change_queries(store: Store) -> None:
    indexes = sa.inspect(store.engine).get_indexes("posts")
    assert any(ix["column_names"] == ["updated_at"] for ix in indexes)


def _ingested(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss_feed(BASE, ALL_POSTS))
    db = ["--db", f"sqlite:///{tmp_path / 'b.db'}"]
    assert main([*db, "ingest", "--feed", str(feed)]) == 0
    capsys.readouterr()
    return db


@pytest.mark.parametrize(
    "damage",
    [
        lambda index: (index / "meta.json").write_text("{not json"),
        lambda index: (index / "meta.json").write_text(
            (index / "meta.json").read_text().replace(f'"format": {INDEX_FORMAT}', '"format": 0')
        ),
        lambda index: [f.write_bytes(b"garbage") for f in (index / "posts").iterdir()],
    ],
    ids=["corrupt-meta", "old-format", "corrupt-segments"],
)
def test_a_damaged_or_outdated_index_is_rebuilt_with_a_log_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    damage: object,
) -> None:
    monkeypatch.chdir(tmp_path)
    db = _ingested(tmp_path, capsys)
    assert main([*db, "ask", "What did Estonia propose?"]) == 0
    index = tmp_path / "b.db.index"
    assert (index / "meta.json").is_file()  # kept beside the database
    capsys.readouterr()
    assert callable(damage)
    damage(index)

    with caplog.at_level(logging.WARNING, logger="briefings"):
        assert main([*db, "ask", "What did Estonia propose?", "--json"]) == 0
    assert "400 million euros" in json.loads(capsys.readouterr().out)["answer"]
    assert any("rebuilding it from the store" in r.getMessage() for r in caplog.records)


def _terms_before_cjk_pieces(text: str) -> list[str]:
    """How `terms` split text before runs of unspaced script became two-character pieces."""
    return [t for t in map(terms_module._term, terms_module._WORD.findall(text.lower())) if t]


def test_an_index_built_before_cjk_pieces_is_rebuilt_and_finds_cjk_posts(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save_posts([as_new(p) for p in (*ALL_POSTS, CJK_POST)])
    path = tmp_path / "index"
    with monkeypatch.context() as old:  # as the code before them built and labelled it
        old.setattr(index_module, "terms", _terms_before_cjk_pieces)
        old.setattr(index_module, "INDEX_FORMAT", 3)
        PassageIndex(store=store, path=path).sync(store)
    upgraded = PassageIndex(store=store, path=path)
    assert [h.post.title for h in upgraded.search("北京")][:1] == [CJK_POST.title]


def test_reindex_command_rebuilds_the_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = _ingested(tmp_path, capsys)
    assert main([*db, "reindex"]) == 0
    assert f"indexed {len(ALL_POSTS)} post(s)" in capsys.readouterr().out
    assert main([*db, "search", "famine", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["title"] == SUDAN_AID.title


def test_an_unusable_index_path_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = _ingested(tmp_path, capsys)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file")
    config = tmp_path / "config.toml"
    config.write_text(f'[index]\npath = "{blocker / "index"}"\n')
    assert main(["--config", str(config), *db, "ask", "What did Estonia propose?"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("briefbot: search index error: cannot create the search index at")
    assert len(err.strip().splitlines()) == 1


# -- LLM answers ----------------------------------------------------------------------------------


@pytest.fixture
async def answerer(llm_server: LLMServer, index: PassageIndex) -> AsyncIterator[LLMAnswerer]:
    async with loopback_client(trust_env=False) as http:
        config = LLMSettings(
            base_url=llm_server.base_url, model="m", timeout_seconds=1.0, max_retries=0
        )
        yield LLMAnswerer(ChatClient(config, http), index)


async def test_llm_answer_with_valid_citations_is_used(
    llm_server: LLMServer, answerer: LLMAnswerer
) -> None:
    llm_server.script = [
        Reply("Estonia proposed a joint air-defence fund of 400 million euros [1].")
    ]
    answer = await answerer.ask("What did Estonia propose?")
    assert answer.grounded
    assert answer.text == "Estonia proposed a joint air-defence fund of 400 million euros."
    assert answer.citations[0].url == CEASEFIRE_REACTION.link(BASE)
    user = llm_server.requests[0][0]["messages"][1]["content"]
    assert (
        user.startswith("<passages>\n[1]")
        and "<question>What did Estonia propose?</question>" in user
    )


@pytest.mark.parametrize(
    "reply",
    [
        Reply("Estonia proposed a fund [7]."),
        Reply("Estonia proposed a fund."),
        Reply("Estonia proposed a fund of 900 million euros [1]."),
        Reply("Estonia proposed a fund, see https://x.example [1]."),
        Reply(status=503, raw=b"{}"),
    ],
    ids=["uncited-passage", "no-citation", "invented-number", "link", "error"],
)
async def test_untrustworthy_llm_answers_fall_back(
    llm_server: LLMServer, answerer: LLMAnswerer, index: PassageIndex, reply: Reply
) -> None:
    llm_server.script = [reply]
    answer = await answerer.ask("What did Estonia propose?")
    assert answer == index.ask("What did Estonia propose?")


async def test_llm_is_not_asked_what_the_posts_do_not_cover(
    llm_server: LLMServer, answerer: LLMAnswerer
) -> None:
    answer = await answerer.ask("Who won the Eurovision song contest?")
    assert not answer.grounded and llm_server.requests == []


async def test_llm_gets_the_thread_s_earlier_questions_and_keeps_its_checks(
    llm_server: LLMServer, answerer: LLMAnswerer
) -> None:
    llm_server.script = [Reply("The fund would hold 400 million euros [1].")]
    answer = await answerer.ask("and how large was it?", history=["What did Estonia propose?"])
    assert answer.grounded and answer.text == "The fund would hold 400 million euros."
    assert answer.citations[0].url == CEASEFIRE_REACTION.link(BASE)
    user = llm_server.requests[0][0]["messages"][1]["content"]
    assert "<thread>\nWhat did Estonia propose?\n</thread>" in user
    assert "400 million euros" in user.split("</passages>")[0]
    # A number the passages do not hold is still refused: the extractive answer stands.
    llm_server.script = [Reply("The fund would hold 900 million euros [1].")]
    fallback = await answerer.ask("and how large was it?", history=["What did Estonia propose?"])
    assert "400 million euros" in fallback.text and "900" not in fallback.text


@pytest.mark.parametrize("mention", ["@everyone", "<!channel>", "<@U0123ABC>"])
async def test_llm_gets_the_question_without_its_mentions_and_the_same_passages(
    llm_server: LLMServer, answerer: LLMAnswerer, mention: str
) -> None:
    llm_server.script = [
        Reply("Estonia proposed a fund [1]."),
        Reply("Estonia proposed a fund [1]."),
    ]
    await answerer.ask("What did Estonia propose?")
    answer = await answerer.ask(f"{mention} What did Estonia propose?")
    assert answer.grounded
    plain, mentioned = (r[0]["messages"][1]["content"] for r in llm_server.requests)
    assert mentioned == plain and mention not in mentioned


async def test_llm_may_say_not_covered(llm_server: LLMServer, answerer: LLMAnswerer) -> None:
    llm_server.script = [Reply("NOT COVERED")]
    answer = await answerer.ask("What did Estonia propose?")
    assert not answer.grounded and answer.text == NOT_COVERED


def test_an_edit_committed_while_another_writer_waits_is_never_missed_by_the_index(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers of posts at once (a cron `ingest` beside `run`): the edit that commits last must
    carry the later stamp, or the index, which reads "changed after my newest stamp", skips it."""
    store = Store.open(db_url)
    original = NewPost(
        "irinfive", "g1", "https://example.com/one/", None, split_post("Old wording here.", "One")
    )
    store.save_posts([original])
    index = PassageIndex(store=store, path=tmp_path / "index")
    index.sync()

    paused, release = threading.Event(), threading.Event()
    real_hashes = store_module._hashes_of

    def slow_hashes(conn: Any, ids: Any) -> Any:  # the editing writer stops inside its transaction
        if threading.current_thread().name == "editor" and not paused.is_set():
            paused.set()
            release.wait(10)
        return real_hashes(conn, ids)

    monkeypatch.setattr(store_module, "_hashes_of", slow_hashes)
    edited = NewPost(
        "irinfive",
        "g1",
        "https://example.com/one/",
        None,
        split_post("Quorbix replaced it.", "One"),
    )
    other = NewPost(
        "irinfive", "g2", "https://example.com/two/", None, split_post("A second post.", "Two")
    )
    editor = threading.Thread(target=store.save_posts, args=([edited],), name="editor")
    editor.start()
    assert paused.wait(10)
    second = threading.Thread(target=store.save_posts, args=([other],), name="second")
    second.start()
    second.join(1)  # today's writers wait here for the editor; a racing one would commit now
    index.sync()  # a sync between the two commits
    release.set()
    editor.join(10)
    second.join(10)
    index.sync()
    try:
        assert index.ask("What replaced it?").grounded
        assert "Quorbix" in index.ask("What is quorbix?").text
    finally:
        store.close()
