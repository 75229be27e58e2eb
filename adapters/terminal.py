"""The terminal as a chat platform: digests print when due, and a prompt takes the same commands and
questions as `/briefing` does elsewhere. The person at the terminal runs the bot, so they are admin.
It is always on: no token, no config section."""

from __future__ import annotations

import asyncio
import io
import os
import stat
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TextIO

from adapters import console
from adapters.contract import (
    Caller,
    ConnectorContext,
    EndedCallback,
    Invocation,
    OutgoingMessage,
    RegisteredHandler,
    Reply,
)
from briefings.models import Digest, Subscription
from briefings.roundup import Roundup

PLATFORM = "terminal"
CHANNEL = "terminal"
PROMPT = "briefbot> "

Handler = Callable[[Invocation], Awaitable[Reply]]


class TerminalPlatform:
    name = PLATFORM
    requests_per_second = 0.0  # no limit: it is a file

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.sent = 0

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        post_ids = tuple(item.post_id for item in digest.items)
        return [OutgoingMessage(post_ids=post_ids, payload={"text": console.render_digest(digest)})]

    def render_roundup(self, roundup: Roundup) -> list[OutgoingMessage]:
        return [OutgoingMessage(post_ids=(), payload={"text": console.render_roundup(roundup)})]

    async def send(
        self,
        channel: str,
        message: OutgoingMessage,
        *,
        key: str,
        since: datetime | None = None,
    ) -> str:
        self.out.write(str(message.payload["text"]) + "\n\n")
        self.out.flush()
        self.sent += 1
        return f"{PLATFORM}-{key}"

    async def tell_admins(
        self, subscription: Subscription, text: str, admins: Sequence[str]
    ) -> None:
        """The person at the terminal runs the bot: they are told on standard error."""
        self.err.write(f"briefbot: {text}\n")
        self.err.flush()


class TerminalConnector:
    """Digests printed to standard output; for `run`, a prompt on standard input. `quit`, or the end
    of a terminal's input, ends the bot; a service's empty standard input does not."""

    name = PLATFORM

    def __init__(self, stdin: TextIO, out: TextIO, ended: EndedCallback) -> None:
        self.stdin = stdin
        self.out = out
        self.platform = TerminalPlatform(out=out)
        self._ended = ended
        self._prompt: asyncio.Task[str] | None = None
        self._interactive = False

    async def start(self, handler: RegisteredHandler | None) -> None:
        if handler is None:
            return
        # Asked now: at the end of a pipe the prompt's reader closes standard input.
        self._interactive = self.stdin.isatty()
        self._prompt = asyncio.get_running_loop().create_task(
            prompt_loop(handler.handle, self.stdin, self.out), name="terminal prompt"
        )
        self._prompt.add_done_callback(self._prompt_ended)

    def _prompt_ended(self, task: asyncio.Task[str]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._ended(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
        elif task.result() == "quit" or self._interactive:
            self._ended(None)
        # else: no terminal to read (a service): the bot runs until signalled

    async def stop(self) -> None:
        if self._prompt is not None and not self._prompt.done():
            self._prompt.cancel()
            await asyncio.gather(self._prompt, return_exceptions=True)


def terminal_connector(
    config: None, env: Mapping[str, str], context: ConnectorContext
) -> TerminalConnector:
    return TerminalConnector(context.stdin, context.out, context.ended)


def render_reply(reply: Reply) -> str:
    parts = [console.safe(reply.text)] if reply.text else []
    if reply.digest is not None:
        parts.append(console.render_digest(reply.digest))
    if reply.roundup is not None:
        parts.append(console.render_roundup(reply.roundup))
    if reply.answer is not None:
        parts.append(console.render_answer(reply.answer))
    if reply.hits:
        parts.append(console.render_hits(list(reply.hits)))
    return "\n\n".join(parts)


async def prompt_loop(handle: Handler, stdin: TextIO, out: TextIO) -> str:
    """Read commands and questions line by line; returns "quit" or "eof" (end of input)."""
    reader = await _line_reader(stdin)
    interactive = stdin.isatty()
    caller = Caller(platform=PLATFORM, user_id="local", name="terminal", is_admin=True)
    # The last question answered and the posts it cited: context for a follow-up.
    last: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    while True:
        if interactive:
            out.write(PROMPT)
            out.flush()
        line = await reader()
        if not line:
            return "eof"
        text = line.strip()
        if not text:
            continue
        if text.lower() in ("quit", "exit"):
            return "quit"
        asked, cited = last
        reply = await handle(
            Invocation(
                caller=caller,
                channel=CHANNEL,
                text=text,
                context_urls=cited,
                context_questions=asked,
            )
        )
        if reply.answer is not None and reply.answer.grounded:
            last = (text,), tuple(c.url for c in reply.answer.citations)
        out.write(render_reply(reply) + "\n")
        out.flush()


async def _line_reader(stdin: TextIO) -> Callable[[], Awaitable[str]]:
    """An async readline for a tty, pipe or socket; anything else (a file, /dev/null) is read in
    a worker thread, as the event loop cannot watch it."""

    async def read_blocking() -> str:
        return await asyncio.to_thread(stdin.readline)

    try:
        mode = os.fstat(stdin.fileno()).st_mode
    except (OSError, ValueError, io.UnsupportedOperation):
        return read_blocking
    if not (stdin.isatty() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return read_blocking
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), stdin)

    async def read() -> str:
        data = await stream.readline()
        return data.decode("utf-8", errors="replace")

    return read
