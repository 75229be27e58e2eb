"""What an adapter is: the platform-neutral chat vocabulary (who is asking, what the bot replies), what a
chat platform must offer to receive digests (`ChatPlatform`), and the one lifecycle every platform
follows (`Connector`: start, stop, and word when it ends by itself). Adapters implement and render
these; the command set and delivery never see a Slack block or a Discord embed, and the runner never
names a platform. The engine (`briefings/`) knows nothing of any of it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from briefings.errors import BriefbotError
from briefings.errors import DeliveryError as DeliveryError
from briefings.errors import MessageRejectedError as MessageRejectedError
from briefings.errors import PermanentDeliveryError as PermanentDeliveryError
from briefings.errors import TransientDeliveryError as TransientDeliveryError
from briefings.models import Answer, Digest, DigestItem, SearchHit, Subscription
from briefings.registry import Registry

if TYPE_CHECKING:  # the stories behind a roundup need the stemmer: imported where rendered
    from briefings.roundup import Roundup


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
    """What the bot answers. Exactly one of text, digest, roundup, answer or hits carries the substance;
    `text` may accompany the others as a line of context."""

    text: str = ""
    digest: Digest | None = None
    roundup: Roundup | None = None  # `preview roundup`: rendered as the roundup itself is posted
    answer: Answer | None = None
    hits: tuple[SearchHit, ...] = ()
    briefing: DigestItem | None = None  # one post's fuller briefing (a digest item's "More")
    ephemeral: bool = False  # only the caller needs to see it
    ok: bool = True  # False for refusals and errors
    # An Ask form's question and who asked (their platform user id), shown above the answer: in
    # the thread nobody else saw the form. The adapter escapes it; it is the asker's text.
    question: str = ""
    asker: str = ""


# The buttons under every digest item; a button's platform id carries its action and the post's id.
ITEM_ACTIONS = ("more", "ask", "up", "down")
_POST_ID = re.compile(r"[0-9]{1,18}")
POST_GONE = "That post is no longer available: it was removed after this digest was sent."
UNKNOWN_BUTTON = "That button is not one briefbot knows (the digest may be from another version)."


@dataclass(frozen=True, slots=True)
class ItemAction:
    """A click on a digest item's button (or the Ask form sent from one).

    `action` is one of `ITEM_ACTIONS`; `thread` is the digest message the item is in (answers go
    in its thread); `question` is what the Ask form carried."""

    caller: Caller
    channel: str
    post_id: int
    action: str
    thread: str = ""
    question: str = ""
    workspace: str = ""


def parse_item_id(custom_id: str, prefix: str = "briefbot") -> tuple[str, int] | None:
    """`("more", 12)` from `briefbot:more:12`; None for an id that is not one of ours."""
    parts = custom_id.split(":")
    if len(parts) != 3 or parts[0] != prefix or parts[1] not in ITEM_ACTIONS:
        return None
    # ASCII digits only ("²".isdigit() is true), and few enough for a 64-bit database id.
    return (parts[1], int(parts[2])) if _POST_ID.fullmatch(parts[2]) else None


def item_id(action: str, post_id: int | str, prefix: str = "briefbot") -> str:
    return f"{prefix}:{action}:{post_id}"


@dataclass(frozen=True, slots=True)
class ChannelState:
    """One channel the bot delivers to, as an admin's overview (Slack's App Home) shows it."""

    channel: str
    schedule: str  # described: "daily at 08:00 (UTC)"
    tags: tuple[str, ...]
    last_delivery: datetime | None
    next_run: str
    paused: bool
    pause_reason: str = ""
    kind: str = "digest"


@dataclass(frozen=True, slots=True)
class HomeView:
    """What a person sees on the bot's home: admins, every channel it delivers to in the
    workspace; everyone, the latest posts as a digest and a short help."""

    admin: bool
    channels: tuple[ChannelState, ...] = ()
    latest: Digest | None = None
    help: str = ""


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

    async def act(self, action: ItemAction) -> Reply:
        """A digest item's button: More (the fuller briefing), Ask (an answer about the post),
        👍/👎 (a vote). Adapters acknowledge the click first; this does the work."""
        ...

    async def home(self, caller: Caller, workspace: str) -> HomeView:
        """The bot's home for `caller` (admin or not, checked now) in `workspace`."""
        ...

    async def ask_title(self, post_id: int) -> str | None:
        """The title of the post an Ask button is about (the form's heading); None when the post
        was removed since, so the form is not opened for nothing. One indexed read."""
        ...


class RegisteredHandler(CommandHandler, Protocol):
    """A command set that declares its commands: adapters build their command trees from it."""

    @property
    def registry(self) -> Registry: ...


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


class MissingSecret(BriefbotError):
    """A platform cannot run as configured: a token or secret is missing or refused, an intent is
    not allowed, an address is taken. The message names the setting to fix (exit 2)."""


class PlatformFailed(BriefbotError):
    """A platform is unavailable (unreachable, down, silent) or its connection ended for good for a
    reason no setting explains: try again later (exit 1)."""


# Called by a connector that stopped by itself while running: with the error to stop the bot with
# (`MissingSecret` or `PlatformFailed`), or None when it ended as asked (`quit` at the prompt).
EndedCallback = Callable[[Exception | None], None]
# Whether an event id is seen for the first time, by any of the bot's processes (platforms resend
# events they think were missed, possibly to another process).
FirstSeen = Callable[[str], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What the bot hands every platform's factory besides its config section and environment."""

    listen: bool  # `run`: take commands and questions; `run --once`: log in to send, nothing else
    stdin: TextIO
    out: TextIO
    ended: EndedCallback
    # The bot's shared check of a platform's event ids (by platform name); None: each adapter
    # remembers the ids it saw itself.
    first_seen: Callable[[str], FirstSeen] | None = None


class Connector(Protocol):
    """One chat platform's lifecycle, the same for all: built by its factory (None when its token
    is not set), started, used for delivery, stopped.

    `start` and the factory raise only `MissingSecret` (a setting to fix) or `PlatformFailed`
    (unavailable: try later), each one line naming the setting or the service; a connector that
    dies for good while running reports it once through `ConnectorContext.ended`."""

    name: str

    @property
    def platform(self) -> ChatPlatform:
        """Delivery: render and send digests, tell admins."""
        ...

    async def start(self, handler: RegisteredHandler | None) -> None:
        """Log in (enough to send); with a handler (`run`), also listen for commands and
        questions and hand them to it. Returns once connected; the connection runs on."""
        ...

    async def stop(self) -> None:
        """Disconnect and stop listening; safe whether or not `start` was called or finished."""
        ...
