"""The store on a real SQLite file and, when BRIEFBOT_TEST_PG_URL is set, on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from briefings.digest import unseen_posts
from briefings.models import PostParts
from briefings.store import NewPost, Store, StoreError, redact_db_url
from briefings.text import split_post


def new_post(n: int, body: str = "", url: str = "") -> NewPost:
    return NewPost(
        source="irinfive",
        guid=f"urn:post:{n}",
        url=url or f"https://irinfive.com/post-{n}/",
        published=datetime(2025, 3, n % 28 + 1, tzinfo=UTC),
        parts=PostParts(
            title=f"Post {n}",
            date_line=f"3/{n % 28 + 1} – World",
            category="World",
            paragraphs=(body or f"Body of post {n}. It has two sentences.",),
            take_label="Analysis",
            take=f"Take {n}.",
            attributions=("AP News",),
        ),
    )


def test_migrations_run_once_and_reopen_cleanly(db_url: str) -> None:
    first = Store.open(db_url)
    assert first.schema_revisions() == [first.migrator().head()]
    first.save_posts([new_post(1)])
    first.close()

    again = Store.open(db_url)
    assert again.migrate() == []
    assert again.count_posts() == 1
    again.close()


def test_round_trip_keeps_every_field(store: Store) -> None:
    store.save_posts([new_post(3)])
    post = store.latest_posts(1)[0]
    assert (post.title, post.category, post.take_label, post.take) == (
        "Post 3",
        "World",
        "Analysis",
        "Take 3.",
    )
    assert post.attributions == ("AP News",)
    assert post.published == datetime(2025, 3, 4, tzinfo=UTC)
    assert post.first_seen.tzinfo is not None and not post.edited


def test_edit_updates_and_marks_without_a_new_row(store: Store) -> None:
    store.save_posts([new_post(1)])
    result = store.save_posts([new_post(1, body="Corrected body. Now longer.")])
    assert (result.new, result.updated) == (0, 1)
    post = store.latest_posts(1)[0]
    assert post.edited and post.body == "Corrected body. Now longer."
    assert store.save_posts([new_post(1, body="Corrected body. Now longer.")]).unchanged == 1


def test_same_post_by_http_www_and_tracking_url_is_one_post(store: Store) -> None:
    store.save_posts([new_post(1)])
    other = new_post(1, url="http://www.irinfive.com/post-1?utm_medium=social#comments")
    assert store.save_posts([other]).new == 0
    assert store.count_posts() == 1
    assert store.post_by_url("https://irinfive.com/post-1/") is not None


def show(store: Store, reader: str, max_items: int = 10) -> list[str]:
    """What a digest for `reader` would show now, marking it shown."""
    unseen = unseen_posts(store, reader, max_items=max_items)
    store.advance_cursor(reader, [unseen.cursor])
    return [post.title for post in unseen.posts]


def test_cursor_shows_each_post_once(store: Store) -> None:
    store.save_posts([new_post(n) for n in range(1, 4)])
    assert show(store, "terminal") == ["Post 3", "Post 2", "Post 1"]
    assert show(store, "terminal") == []

    store.save_posts([new_post(4)])
    assert show(store, "terminal") == ["Post 4"]
    # Another reader has its own cursor.
    assert len(show(store, "someone-else")) == 4


def test_more_unseen_than_fit_are_counted_in_a_note(store: Store) -> None:
    store.save_posts([new_post(n) for n in range(1, 8)])
    unseen = unseen_posts(store, "terminal", max_items=5)
    assert len(unseen.posts) == 5
    assert unseen.notes == ("2 older unseen post(s) not shown",)


def test_summary_cache_is_keyed_by_text_summarizer_model_and_prompt(store: Store) -> None:
    key = ("llm", "model-a", "1")
    store.cache_summary("h1", key, 3, ["One.", "Two."])
    store.cache_summary("h1", key, 3, ["Ignored second write."])
    assert store.cached_summary("h1", key, 3) == ["One.", "Two."]
    assert store.cached_summary("h1", ("llm", "model-b", "1"), 3) is None
    assert store.cached_summary("h1", ("llm", "model-a", "2"), 3) is None
    assert store.cached_summary("h2", key, 3) is None
    assert store.cached_summary("h1", key, 2) is None


def test_cursor_never_moves_backwards(store: Store) -> None:
    store.advance_cursor("r", [10])
    store.advance_cursor("r", [3])
    assert store.cursor("r") == 10


def test_source_validators_change_only_on_success(store: Store) -> None:
    store.record_fetch("irinfive", "https://irinfive.com/feed/", etag='"v1"', last_modified="Mon")
    store.record_fetch("irinfive", "https://irinfive.com/feed/", error="HTTP 500")
    state = store.source_state("irinfive")
    assert state is not None
    assert (state.etag, state.last_error) == ('"v1"', "HTTP 500")
    assert state.last_success_at is not None and state.last_attempt_at is not None


def test_unreachable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot"):
        Store.open("sqlite:////nonexistent-dir/x/briefbot.db")


def test_passwords_are_hidden() -> None:
    assert "s3cret" not in redact_db_url("postgresql://bot:s3cret@db.example:5432/briefbot")


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(sa.exc.StatementError):
        store.record_fetch("x", "https://x.test/", at=datetime(2025, 1, 1))


def test_two_writers_saving_the_same_new_posts_at_once_store_each_once(db_url: str) -> None:
    """Two processes polling the same feed at once (a cron `ingest` beside `run`, or two leaders
    for a moment) both find the posts new; the second to commit must not fail on the aliases."""
    items = [
        NewPost(
            source="irinfive",
            guid=f"https://example.com/p/{n}/",
            url=f"https://example.com/p/{n}/",
            published=None,
            parts=split_post(f"<p>Post number {n} says something new today.</p>", f"Post {n}"),
        )
        for n in range(300)
    ]
    stores = [Store.open(db_url), Store.open(db_url)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def save(store: Store) -> None:
        start.wait()
        try:
            store.save_posts(items)
        except BaseException as exc:
            errors.append(exc)

    for _ in range(5):
        threads = [threading.Thread(target=save, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    try:
        assert not errors, errors[0]
        assert stores[0].count_posts() == 300
    finally:
        for s in stores:
            s.close()


def test_processes_recording_the_first_poll_of_a_source_at_once_all_succeed(db_url: str) -> None:
    """Two pollers of a new source (say `ingest` and `run --once` started together) both record
    their poll; the second used to fail on the source's unique name."""
    import threading

    stores = [Store.open(db_url) for _ in range(6)]
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def poll(store: Store, n: int) -> None:
        start.wait()
        try:
            store.record_fetch("irinfive", "https://irinfive.com/feed/", etag=f'"{n}"')
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=poll, args=(s, n)) for n, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        [state] = stores[0].source_states()
        assert state.name == "irinfive" and state.etag is not None
    finally:
        for store in stores:
            store.close()
