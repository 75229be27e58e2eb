"""The platform-neutral chat vocabulary: who is asking, what the bot replies, and what a chat platform
must offer to receive digests. Adapters implement and render these; the engine and the command set
never see a Slack block or a Discord embed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from briefings.errors import DeliveryError as DeliveryError
from briefings.errors import MessageRejectedError as MessageRejectedError
from briefings.errors import PermanentDeliveryError as PermanentDeliveryError
from briefings.errors import TransientDeliveryError as TransientDeliveryError
from briefings.models import Answer, Digest, SearchHit, Subscription


@dataclass(frozen=True, slots=True)
class Caller:
    """The person behind a command, as their platform reports them."""

    platform: str
    user_id: str
    name: str = ""
    is_admin: bool = False  # the platform's own say: workspace admin, Manage Server, local user


@dataclass(frozen=True, slots=True)
class Invocation:
    """One command or question from a channel (or a thread in it)."""

    caller: Caller
    channel: str
    text: str  # "schedule set daily 08:00 Europe/London", or a plain question
    workspace: str = ""
    context_post_ids: tuple[int, ...] = ()  # posts the question is known to be about
    context_urls: tuple[str, ...] = ()  # links seen earlier in the thread (e.g. cited posts)
    # Earlier questions in the thread (or the terminal's last one), oldest first: a follow-up
    # ("and what happens next?") is read with them.
    context_questions: tuple[str, ...] = ()
    thread: str = ""  # the platform message id the thread hangs off (a digest message, often)
    # Free text from a thread or a mention: a question, whatever word it starts with.
    question: bool = False
    # Typed arguments by name, from platforms with typed options (Discord); `text` is then just the
    # command's name ("schedule set"). None: `text` is a whole line to parse.
    args: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot answers. Exactly one of text, digest, answer or hits carries the substance;
    `text` may accompany the others as a line of context."""

    text: str = ""
    digest: Digest | None = None
    answer: Answer | None = None
    hits: tuple[SearchHit, ...] = ()
    ephemeral: bool = False  # only the caller needs to see it
    ok: bool = True  # False for refusals and errors


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One platform message of a rendered digest and the posts it carries.

    Delivery marks exactly these posts sent once the platform confirms this message, so a digest
    split across messages is never repeated past the last confirmed one.
    """

    post_ids: tuple[int, ...]
    payload: Mapping[str, Any] = field(default_factory=dict)


class CommandHandler(Protocol):
    """What an adapter needs from the command set."""

    async def handle(self, invocation: Invocation) -> Reply: ...

    async def is_digest_thread(self, platform: str, channel: str, message_id: str) -> bool:
        """Whether `message_id` is a digest this bot posted in `channel` (its thread takes
        questions without a mention). A store query: async, so it runs off the event loop."""
        ...


class ChatPlatform(Protocol):
    """What delivery needs from an adapter."""

    name: str
    requests_per_second: float  # global send limit; 0 means none

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        """Split within the platform's limits; every post of the digest in exactly one message."""
        ...

    async def send(
        self,
        channel: str,
        message: OutgoingMessage,
        *,
        key: str,
        since: datetime | None = None,
    ) -> str:
        """Post one message; returns the platform's message id. `key` is the same on every retry
        of the same message (an idempotency key where the platform supports one). `since` is set
        when this message may have been sent before (an attempt began then and was never
        confirmed): a platform without idempotency keys looks for `key` among the messages posted
        since then and returns that message's id instead of posting again."""
        ...

    async def tell_admins(
        self, subscription: Subscription, text: str, admins: Sequence[str]
    ) -> None:
        """Tell the people responsible for `subscription` about a problem with it (a direct
        message): whoever set it up (`subscription.admin_user`, when it names a user) and
        `admins`, the user ids on this platform configured as admins. Best effort per person."""
        ...
