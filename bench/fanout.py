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
import json
import multiprocessing
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import engine_for
from bot.config import Settings
from bot.delivery import Deliverer, DeliverySettings
from bot.outbox_store import OutboxStore
from briefings.chat import OutgoingMessage, TransientDeliveryError
from briefings.models import Digest, PostParts, Subscription
from briefings.store import NewPost, Store

DUE = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class LimitedChatServer:
    """Accepts messages; a request past `rate` in the trailing second is a violation (429).

    Runs in its own process, as a real platform would: in ours, its threads would compete with the
    bot's event loop for the interpreter and make every request look slow.
    """

    def __init__(self, rate: int) -> None:
        ready: multiprocessing.Queue[int] = multiprocessing.Queue()
        self.process = multiprocessing.Process(target=_serve, args=(rate, ready), daemon=True)
        self.process.start()
        self.url = f"http://127.0.0.1:{ready.get(timeout=30)}"

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/stats", timeout=30).json())

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


def _serve(rate: int, ready: multiprocessing.Queue[int]) -> None:
    arrivals: deque[float] = deque()
    messages: list[tuple[str, str]] = []  # (channel, idempotency key)
    violations = 0
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stall

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._reply(200, {"messages": messages, "violations": violations})

        def do_POST(self) -> None:
            nonlocal violations
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            now = time.monotonic()
            with lock:
                while arrivals and arrivals[0] <= now - 1.0:
                    arrivals.popleft()
                over = len(arrivals) >= rate
                arrivals.append(now)
                if over:
                    violations += 1
                else:
                    messages.append((body["channel"], body["key"]))
                number = len(messages)
            if over:
                self._reply(429, {"message": "You are being rate limited.", "retry_after": 1.0})
            else:
                self._reply(200, {"id": str(number)})

        def _reply(self, status: int, payload: dict[str, object]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 429:
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(data)

    ThreadingHTTPServer.request_queue_size = 256  # 50 connections open at once at the start
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ready.put(server.server_address[1])
    server.serve_forever()


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
    server = LimitedChatServer(rate)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    try:
        async with (
            engine_for(Settings(), store) as engine,
            httpx.AsyncClient(timeout=30, limits=limits) as client,
        ):
            chat = HttpChat(client, f"{server.url}/messages", rate)
            deliverer = Deliverer(store, engine, {"chat": chat}, DeliverySettings())
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
    messages = [tuple(m) for m in stats["messages"]]
    per_channel = Counter(channel for channel, _ in messages)
    duplicates = sum(count - 1 for count in per_channel.values() if count > 1)
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
