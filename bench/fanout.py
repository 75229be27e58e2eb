"""Fan-out benchmark: 1,000 subscriptions due in the same minute, delivered over loopback HTTP to a
chat server that enforces Discord's global limit of 50 requests per second.

    python bench/fanout.py [--subscriptions 1000] [--posts 5] [--rate 50] [--db URL]

The server answers a request over the limit (more than `rate` in any trailing second) with 429 and
Retry-After, and counts it as a violation. Prints one table: time to deliver all, the floor that the
limit sets (subscriptions / rate), violations, duplicates and anything left undelivered.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.contract import OutgoingMessage, TransientDeliveryError
from bot.app import engine_for
from bot.config import Settings
from bot.delivery import Deliverer
from bot.outbox_store import OutboxStore
from briefings.models import Digest, PostParts, Subscription
from briefings.store import NewPost, Store
from tests.fixtures.limited_chat import LimitedChat

DUE = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class HttpChat:
    """A minimal platform adapter: one POST per message, the limit declared for delivery to keep."""

    name = "chat"

    def __init__(self, client: httpx.AsyncClient, url: str, rate: float) -> None:
        self.client = client
        self.url = url
        self.requests_per_second = rate

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        return [OutgoingMessage(post_ids=tuple(i.post_id for i in digest.items))]

    async def send(
        self, channel: str, message: OutgoingMessage, *, key: str, since: datetime | None = None
    ) -> str:
        try:
            response = await self.client.post(self.url, json={"channel": channel, "key": key})
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429:
            raise TransientDeliveryError("429", retry_after=float(response.headers["Retry-After"]))
        response.raise_for_status()
        return str(response.json()["id"])

    async def tell_admins(
        self, subscription: Subscription, text: str, admins: Sequence[str]
    ) -> None:
        pass


def seed(store: Store, subscriptions: int, posts: int) -> None:
    items = []
    for n in range(posts):
        parts = PostParts(
            title=f"Bench post {n}",
            date_line="11/25 – International News",
            category="International News",
            paragraphs=(f"Negotiators met for round {n} of talks. They agreed to meet again.",),
            take_label="Analysis",
            take="Little has changed.",
            attributions=("AP News",),
        )
        url = f"https://irinfive.com/bench-{n}/"
        items.append(NewPost("irinfive", url, url, DUE - timedelta(hours=n + 1), parts))
    store.save_posts(items)
    outbox = OutboxStore(store.engine)
    for n in range(subscriptions):
        outbox.save_subscription(
            "chat", f"channel-{n:04d}", active=True, schedule="daily 08:00", next_run_at=DUE
        )


async def run(subscriptions: int, posts: int, rate: int, db_url: str) -> list[tuple[str, str]]:
    store = Store.open(db_url)
    seed(store, subscriptions, posts)
    server = LimitedChat(rate)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    try:
        async with (
            engine_for(Settings(), store) as engine,
            httpx.AsyncClient(timeout=30, limits=limits) as client,
        ):
            chat = HttpChat(client, server.url, rate)
            deliverer = Deliverer(store, engine, {"chat": chat}, Settings())
            start = time.perf_counter()
            report = await deliverer.run_due(DUE + timedelta(seconds=5), flush=False)
            claimed_at = time.perf_counter()
            await deliverer.flush(DUE + timedelta(seconds=5))
            elapsed = time.perf_counter() - start
            claiming = claimed_at - start
        stats = server.stats()
    finally:
        server.stop()
    pending = sum(OutboxStore(store.engine).pending_by_platform(DUE + timedelta(days=1)).values())
    store.close()
    messages = stats["messages"]  # distinct by idempotency key; a repeated key is in "repeats"
    per_channel = Counter(m["channel"] for m in messages)
    duplicates = len(stats["repeats"]) + sum(count - 1 for count in per_channel.values())
    floor = subscriptions / rate
    return [
        ("subscriptions due", f"{subscriptions} ({posts} new posts each)"),
        ("runs claimed", str(report.claimed)),
        ("messages delivered", str(len(messages))),
        ("time to deliver all", f"{elapsed:.2f} s"),
        ("  of which claiming the runs", f"{claiming:.2f} s"),
        (f"floor at {rate} req/s", f"{floor:.2f} s"),
        ("time / floor", f"{elapsed / floor:.3f}x"),
        ("limit violations (429s)", str(stats["violations"])),
        ("duplicate messages", str(duplicates)),
        ("deliveries left pending", str(pending)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=5)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = args.db or f"sqlite:///{Path(tmp) / 'fanout.db'}"
        rows = asyncio.run(run(args.subscriptions, args.posts, args.rate, db_url))
    width = max(len(name) for name, _ in rows)
    print(f"| {'measure':<{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")


if __name__ == "__main__":
    main()
