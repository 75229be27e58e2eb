"""Slack through slack-bolt's AsyncApp: `/briefing`, questions in digest threads and @mentions, and
digest delivery with chat.postMessage. It parses, renders and posts; the command set decides.

Both connection modes: Socket Mode (an app-level token; no public URL needed) and HTTP mode (Slack
signs each request; bolt checks the signature and the timestamp's age before any listener runs).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.app.async_server import AsyncSlackAppServer
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.contract import (
    POST_GONE,
    UNKNOWN_BUTTON,
    Caller,
    CommandHandler,
    DeliveryError,
    Invocation,
    ItemAction,
    MessageRejectedError,
    OutgoingMessage,
    PermanentDeliveryError,
    TransientDeliveryError,
    parse_item_id,
)
from adapters.slack.render import (
    ASK_CALLBACK,
    RESUME_ACTION,
    RESUME_ROUNDUP,
    ask_modal,
    digest_messages,
    home_view,
    reply_messages,
    roundup_messages,
)
from briefings.ask import is_refusal
from briefings.errors import BriefbotError
from briefings.models import Digest, Subscription
from briefings.roundup import Roundup

log = logging.getLogger(__name__)

PLATFORM = "slack"
# Errors after which posting to the channel cannot work until a person acts: pause, tell the admin.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "invalid_auth",
        "token_revoked",
        "missing_scope",
        "restricted_action",
        "ekm_access_denied",
    }
)
# Errors about the message itself: Slack will refuse this message however often it is sent, but the
# channel is fine. Its posts are marked failed and the channel's next messages go on.
MESSAGE_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "invalid_arguments",
        "invalid_array_arg",
        "invalid_form_data",
        "invalid_json",
        "json_not_object",
        "invalid_charset",
        "too_many_attachments",
        "invalid_attachments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "metadata_must_be_sent_from_app",
    }
)
AUTH_STATUSES = frozenset({401, 403})
# Answers that say Slack is down or busy, not that a token is wrong (with any 429 or 5xx).
UNAVAILABLE_ERRORS = frozenset(
    {"ratelimited", "fatal_error", "internal_error", "service_unavailable", "request_timeout"}
)
DIGEST_EVENT = "briefbot_digest"  # message metadata event_type; its payload carries the send key
CLOCK_SLACK = timedelta(minutes=2)  # our clock and Slack's may differ: search a little earlier
HISTORY_PAGES = 5  # at most this many pages of 200 messages are searched for an earlier attempt
_MENTION = re.compile(r"<@[A-Z0-9]+>\s*")
_LINK = re.compile(r"<(https?://[^|>]+)(?:\|[^>]*)?>")
_ITEM_BUTTON = re.compile(r"^briefbot:")  # a digest item's buttons (any, so a bad one is answered)
BLANK_QUESTION = "Type a question about the post."
RESPOND_WAIT = 5.0  # longest Retry-After waited out on a response_url before the Web API is used
STOP_SECONDS = 2.0  # what HTTP requests in progress get to finish when the bot stops
SEEN_EVENTS = 10_000  # event ids remembered, so Slack's retries are answered once


@dataclass(frozen=True, slots=True)
class SlackSettings:
    bot_token: str
    mode: str = "socket"  # "socket" or "http"
    app_token: str = ""  # Socket Mode
    signing_secret: str = ""  # HTTP mode
    host: str = "127.0.0.1"
    port: int = 3000
    path: str = "/slack/events"
    api_base_url: str = "https://slack.com/api/"
    command: str = "/briefing"
    requests_per_second: float = 1.0
    max_rate_limit_retries: int = 3


class SlackPlatform:
    """Delivery to Slack channels (the `ChatPlatform` the outbox uses)."""

    name = PLATFORM

    def __init__(self, client: AsyncWebClient, requests_per_second: float = 1.0) -> None:
        self.client = client
        self.requests_per_second = requests_per_second

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        return digest_messages(digest)

    def render_roundup(self, roundup: Roundup) -> list[OutgoingMessage]:
        return roundup_messages(roundup)

    async def send(
        self,
        channel: str,
        message: OutgoingMessage,
        *,
        key: str,
        since: datetime | None = None,
    ) -> str:
        """Post one message. Slack has no idempotency key, so the key rides in the message's
        metadata; on a retry (`since` set) the channel's history since the first attempt is
        searched for it first, and a message found there counts as this one, sent."""
        payload = message.payload
        try:
            found = await self._earlier_attempt(channel, key, since) if since else ""
            if found:
                log.info("slack %s: the earlier attempt was posted (ts %s)", channel, found)
                return found
            response = await self.client.chat_postMessage(
                channel=channel,
                text=payload["text"],
                blocks=payload["blocks"],
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": DIGEST_EVENT, "event_payload": {"key": key}},
            )
        except SlackApiError as exc:
            raise delivery_error(exc) from exc
        except (TimeoutError, OSError) as exc:
            raise TransientDeliveryError(f"cannot reach Slack: {exc}") from exc
        return str(response["ts"])

    async def _earlier_attempt(self, channel: str, key: str, since: datetime) -> str:
        try:
            return await self.find_sent(channel, key, since)
        except SlackApiError as exc:
            error = delivery_error(exc)
            if not (error.permanent or error.rejected):
                raise  # retried later, search included
            # Cannot look (e.g. an install without channels:history): posting is the lesser harm.
            log.warning("slack %s: cannot search for an earlier attempt: %s", channel, error.reason)
            return ""

    async def find_sent(self, channel: str, key: str, since: datetime) -> str:
        """The ts of a message of ours in `channel` carrying `key`, posted since `since`; or ""."""
        oldest = f"{(since - CLOCK_SLACK).timestamp():.6f}"
        cursor = ""
        for _ in range(HISTORY_PAGES):
            page = await self.client.conversations_history(
                channel=channel,
                oldest=oldest,
                include_all_metadata=True,
                limit=200,
                cursor=cursor or None,
            )
            messages: list[Mapping[str, Any]] = page.get("messages", []) or []
            for found in messages:
                metadata = found.get("metadata") or {}
                event_payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == DIGEST_EVENT and event_payload.get("key") == key:
                    return str(found.get("ts", ""))
            cursor = str((page.get("response_metadata") or {}).get("next_cursor", "") or "")
            if not cursor:
                break
        return ""

    async def tell_admins(
        self, subscription: Subscription, text: str, admins: Sequence[str]
    ) -> None:
        """A direct message to each: the channel's admin (when a user set it up) and the
        configured Slack admins."""
        users = [u for u in dict.fromkeys((subscription.admin_user, *admins)) if _is_user(u)]
        if not users:
            log.warning("slack %s: %s (no admin to tell)", subscription.channel, text)
        for user in users:
            try:
                await self.client.chat_postMessage(channel=user, text=text)
            except SlackApiError as exc:
                log.warning("slack: cannot tell %s: %s", user, exc.response.get("error", exc))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _is_user(user: str) -> bool:
    return re.fullmatch(r"[UW][A-Z0-9]+", user) is not None


def delivery_error(exc: SlackApiError) -> DeliveryError:
    """Slack's answer, sorted: channel unusable (pause), message unacceptable (drop it, go on), or
    worth retrying (rate limits, server errors, anything not known to be final)."""
    response = exc.response
    code = str(response.get("error", "")) if response is not None else ""
    status = response.status_code if response is not None else 0
    if code in PERMANENT_ERRORS:
        return PermanentDeliveryError(code)
    if code in MESSAGE_ERRORS:
        return MessageRejectedError(code)
    if status == 429:
        retry_after = float(response.headers.get("Retry-After", "30"))
        return TransientDeliveryError(code or "ratelimited", retry_after=retry_after)
    if 400 <= status < 500 and status not in AUTH_STATUSES:
        return MessageRejectedError(f"HTTP {status} {code}".strip())
    # Without a code (a proxy's HTML error page) slack_sdk's message spans lines: say the status.
    return TransientDeliveryError(code or f"HTTP {status}")


class SlackRefused(BriefbotError):
    """Slack refused a token at start: `which` is "bot" or "app", `error` Slack's error code."""

    def __init__(self, which: str, error: str) -> None:
        super().__init__(f"Slack refused the {which} token: {error}")
        self.which = which
        self.error = error


class SlackListenError(BriefbotError):
    """HTTP mode cannot listen on the configured address (in use, or not ours to bind)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {reason}")
        self.host = host
        self.port = port
        self.reason = reason


class SlackUnavailable(BriefbotError):
    """Slack could not be reached, or was down or rate limiting, at start: no token is to blame."""


def _error_code(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "refused")) if exc.response is not None else "refused"


def _startup_error(which: str, exc: SlackApiError) -> Exception:
    """A refused token (`SlackRefused`, a setting to fix) or Slack being unavailable."""
    response = exc.response
    status = response.status_code if response is not None else 0
    code = str(response.get("error", "") or "") if response is not None else ""
    if status == 429 or status >= 500 or code in UNAVAILABLE_ERRORS or not code:
        detail = " ".join(part for part in (f"HTTP {status}" if status else "", code) if part)
        return SlackUnavailable(f"Slack did not answer as expected at start ({detail})")
    return SlackRefused(which, code)


class _TokenUnusedFilter(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN itself and warns it is unused when given a client: noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.AsyncApp").addFilter(_TokenUnusedFilter())


class SlackBot:
    """The bolt app and its listeners, in either connection mode."""

    def __init__(self, settings: SlackSettings) -> None:
        self.settings = settings
        self.commands: CommandHandler | None = None
        self.client = AsyncWebClient(
            token=settings.bot_token,
            base_url=settings.api_base_url,
            retry_handlers=[
                AsyncRateLimitErrorRetryHandler(max_retry_count=settings.max_rate_limit_retries)
            ],
        )
        self.platform = SlackPlatform(self.client, settings.requests_per_second)
        self.app = AsyncApp(
            # Named: unnamed, Bolt names it after the calling file by reading the source of every
            # frame on the stack, which costs each start more than the rest of building the app.
            name="briefbot",
            client=self.client,
            signing_secret=settings.signing_secret or None,
            request_verification_enabled=settings.mode == "http",
        )
        self.bot_user_id = ""
        # Whether an event id is new; set by the bot to a check shared by its processes (a table).
        self.first_seen: Callable[[str], Awaitable[bool]] = self._first_seen_here
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.port = settings.port
        self.app.command(settings.command)(self._on_command)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.action(_ITEM_BUTTON)(self._on_item_button)
        self.app.view(ASK_CALLBACK)(self._on_ask_submitted)
        self.app.event("app_home_opened")(self._on_home_opened)
        self.app.action(RESUME_ACTION)(self._on_resume)

    async def login(self) -> None:
        """Check the bot token (auth.test): enough to send; `start` also listens."""
        try:
            identity = await self.client.auth_test()
        except SlackApiError as exc:
            raise _startup_error("bot", exc) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise SlackUnavailable(f"cannot reach Slack: {_one_line(exc)}") from None
        self.bot_user_id = str(identity.get("user_id", ""))

    async def start(self, commands: CommandHandler) -> None:
        """Connect (Socket Mode) or listen (HTTP mode); `commands` answers what arrives.

        A refused token raises `SlackRefused` and a busy address `SlackListenError`, so the caller
        can stop with a message instead of bolt retrying forever."""
        self.commands = commands
        if not self.bot_user_id:
            await self.login()
        if self.settings.mode == "socket":
            self._socket = AsyncSocketModeHandler(self.app, self.settings.app_token)
            try:  # asked here once: inside connect_async a refusal is retried forever
                opened = await self.client.apps_connections_open(app_token=self.settings.app_token)
            except SlackApiError as exc:
                raise _startup_error("app", exc) from None
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                raise SlackUnavailable(f"cannot reach Slack: {_one_line(exc)}") from None
            self._socket.client.wss_uri = str(opened["url"])
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("slack: connected in Socket Mode as %s", self.bot_user_id)
            return
        server = AsyncSlackAppServer(self.settings.port, self.settings.path, self.app)
        server.web_app.middlewares.append(_reject_bad_timestamps)
        self._runner = web.AppRunner(server.web_app, shutdown_timeout=STOP_SECONDS)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        try:
            await site.start()
        except OSError as exc:
            raise SlackListenError(
                self.settings.host, self.settings.port, exc.strerror or str(exc)
            ) from None
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])  # the port chosen when configured as 0
        log.info(
            "slack: listening on http://%s:%d%s", self.settings.host, self.port, self.settings.path
        )

    async def stop(self) -> None:
        """Disconnect, and stop listening (requests in progress get `STOP_SECONDS`)."""
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            await self._runner.cleanup()

    # -- listeners --------------------------------------------------------------------------------

    async def _on_command(self, ack: Any, command: Mapping[str, Any], respond: Any) -> None:
        await ack()  # within Slack's 3 s; the work happens after
        user = str(command.get("user_id", ""))
        caller = await self._caller(user, str(command.get("user_name", "")))
        invocation = Invocation(
            caller=caller,
            channel=str(command.get("channel_id", "")),
            text=str(command.get("text", "")),
            workspace=str(command.get("team_id", "")),
        )
        reply = await self._commands().handle(invocation)
        for message in reply_messages(reply):
            await self._respond(respond, message, reply.ephemeral, invocation.channel, user)

    async def _on_mention(self, body: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        if event.get("bot_id") or not await self._first_time(body):
            return
        thread = str(event.get("thread_ts") or "")
        await self._answer(event, thread=thread, reply_in=thread or str(event.get("ts", "")))

    async def _on_message(self, body: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        if event.get("bot_id") or event.get("subtype") or not event.get("thread_ts"):
            return  # bots (ourselves included), edits and joins, and top-level chatter
        if self.bot_user_id and f"<@{self.bot_user_id}>" in str(event.get("text", "")):
            return  # app_mention answers it
        channel, thread = str(event.get("channel", "")), str(event["thread_ts"])
        if not await self._commands().is_digest_thread(PLATFORM, channel, thread):
            return
        if not await self._first_time(body):
            return
        await self._answer(event, thread=thread, reply_in=thread)

    async def _answer(self, event: Mapping[str, Any], *, thread: str, reply_in: str) -> None:
        channel = str(event.get("channel", ""))
        question = _MENTION.sub("", str(event.get("text", ""))).strip()
        if not question:
            return
        urls, asked = await self._thread_links(channel, thread, str(event.get("ts", "")))
        invocation = Invocation(
            caller=Caller(PLATFORM, str(event.get("user", ""))),
            channel=channel,
            text=question,
            workspace=str(event.get("team", "")),
            thread=thread,
            context_urls=urls,
            context_questions=asked,
            question=True,
        )
        reply = await self._commands().handle(invocation)
        for message in reply_messages(reply):
            await self.client.chat_postMessage(
                channel=channel, thread_ts=reply_in, unfurl_links=False, **message
            )

    # -- buttons, the Ask form and the App Home ----------------------------------------------------

    async def _on_item_button(
        self, ack: Any, body: Mapping[str, Any], action: Mapping[str, Any], respond: Any
    ) -> None:
        """More / Ask / 👍 / 👎 under a digest item: acknowledged at once; Ask opens the form (its
        trigger id lasts 3 s), the others answer only the clicker."""
        await ack()
        container: Mapping[str, Any] = body.get("container") or {}
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id", ""))
        thread = str(container.get("message_ts") or (body.get("message") or {}).get("ts", ""))
        if container.get("is_ephemeral"):
            thread = ""  # an ephemeral digest (`latest`) has no thread: answers come back privately
        user = str((body.get("user") or {}).get("id", ""))
        parsed = parse_item_id(str(action.get("action_id", "")))
        if parsed is None:
            await self._respond(respond, {"text": UNKNOWN_BUTTON}, True, channel, user)
            return
        kind, post_id = parsed
        if kind == "ask":
            title = await self._commands().ask_title(post_id)
            if title is None:  # removed since: say so now, not after the question is typed
                await self._respond(respond, {"text": POST_GONE}, True, channel, user)
                return
            try:
                await self.client.views_open(
                    trigger_id=str(body.get("trigger_id", "")),
                    view=ask_modal(post_id, channel, thread, title),
                )
            except SlackApiError as exc:
                log.warning("slack: cannot open the Ask form: %s", _error_code(exc))
                text = "The question form could not be opened; ask in the digest's thread."
                await self._respond(respond, {"text": text}, True, channel, user)
            return
        reply = await self._commands().act(
            ItemAction(
                caller=Caller(PLATFORM, user),
                channel=channel,
                post_id=post_id,
                action=kind,
                thread=thread,
                workspace=str((body.get("team") or {}).get("id", "")),
            )
        )
        for message in reply_messages(reply):
            await self._respond(respond, message, True, channel, user)

    async def _respond(
        self, respond: Any, message: Mapping[str, Any], ephemeral: bool, channel: str, user: str
    ) -> None:
        """Reply through the request's response_url. Slack may rate limit it (429) or let it
        expire: one Retry-After (at most `RESPOND_WAIT` s) is waited out, then the reply goes
        through the Web API instead (chat.postEphemeral, or chat.postMessage for the channel),
        so it is never lost without a word in the log."""
        kind = "ephemeral" if ephemeral else "in_channel"
        status = 0
        for attempt in range(2):
            try:
                response = await respond(response_type=kind, replace_original=False, **message)
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
                log.warning("slack: cannot reply through the response_url: %s", _one_line(exc))
                break
            status = int(response.status_code)
            if status == 200:
                return
            headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
            if status != 429 or attempt:
                break
            retry = headers.get("retry-after", "1")
            retry = retry[0] if isinstance(retry, list) and retry else retry
            try:
                wait = min(max(float(retry), 0.0), RESPOND_WAIT)
            except (TypeError, ValueError):
                wait = 1.0
            await asyncio.sleep(wait)
        log.warning("slack: the response_url answered %s; replying through the Web API", status)
        try:
            if ephemeral:
                await self.client.chat_postEphemeral(channel=channel, user=user, **message)
            else:
                await self.client.chat_postMessage(channel=channel, **message)
        except SlackApiError as exc:
            log.warning("slack: cannot reply to %s in %s: %s", user, channel, _error_code(exc))

    async def _on_ask_submitted(
        self, ack: Any, body: Mapping[str, Any], view: Mapping[str, Any]
    ) -> None:
        """The Ask form: closed at once; the answer goes to the digest's thread, citing the post
        (a refusal, e.g. a post removed since, only to the asker). A blank question keeps the
        form open with the field marked, as Slack shows a form's own errors."""
        try:
            meta = json.loads(str(view.get("private_metadata") or "{}"))
            values = view["state"]["values"]["question"]["question"]
            post_id, channel = int(meta["post"]), str(meta["channel"])
        except (ValueError, KeyError, TypeError):
            await ack()
            log.warning("slack: an Ask form without its post or question")
            return
        if not str(values.get("value") or "").strip():
            await ack(response_action="errors", errors={"question": BLANK_QUESTION})
            return
        await ack()
        thread, user = str(meta.get("thread", "")), str((body.get("user") or {}).get("id", ""))
        reply = await self._commands().act(
            ItemAction(
                caller=Caller(PLATFORM, user),
                channel=channel,
                post_id=post_id,
                action="ask",
                thread=thread,
                question=str(values.get("value") or ""),
                workspace=str((body.get("team") or {}).get("id", "")),
            )
        )
        for message in reply_messages(reply):
            if reply.ephemeral or not thread:
                await self.client.chat_postEphemeral(channel=channel, user=user, **message)
            else:
                await self.client.chat_postMessage(
                    channel=channel, thread_ts=thread, unfurl_links=False, **message
                )

    async def _on_home_opened(self, body: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        await self._publish_home(str(event.get("user", "")), str(body.get("team_id", "")))

    async def _publish_home(self, user: str, team: str) -> None:
        """views.publish the Home tab as this person may see it (admin checked now)."""
        caller = await self._caller(user, "")
        home = await self._commands().home(caller, team)
        try:
            await self.client.views_publish(user_id=user, view=home_view(home))
        except SlackApiError as exc:
            log.warning("slack: cannot publish the Home tab for %s: %s", user, _error_code(exc))

    async def _on_resume(
        self, ack: Any, body: Mapping[str, Any], action: Mapping[str, Any]
    ) -> None:
        """App Home's Resume: `resume` (or `resume roundup`) in that channel, so the admin check
        runs again now and only a paused channel is resumed (never one unsubscribed since)."""
        await ack()
        user = str((body.get("user") or {}).get("id", ""))
        team = str((body.get("team") or {}).get("id", "") or body.get("team_id", ""))
        caller = await self._caller(user, "")
        value = str(action.get("value", ""))
        roundup = value.startswith(RESUME_ROUNDUP)
        channel = value.removeprefix(RESUME_ROUNDUP)
        reply = await self._commands().handle(
            Invocation(
                caller=caller,
                channel=channel,
                text="resume roundup" if roundup else "resume",
                workspace=team,
            )
        )
        if not reply.ok:
            for message in reply_messages(reply):
                await self.client.chat_postMessage(channel=user, **message)
        await self._publish_home(user, team)

    def _commands(self) -> CommandHandler:
        if self.commands is None:
            raise RuntimeError("SlackBot.start() was not called")
        return self.commands

    async def _thread_links(
        self, channel: str, thread: str, current: str
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Links in the thread so far (posts cited in earlier answers) and the questions people
        asked in it before `current` (oldest first): context for the next question."""
        if not thread:
            return (), ()
        try:
            replies = await self.client.conversations_replies(channel=channel, ts=thread, limit=50)
        except SlackApiError as exc:
            log.warning("slack: cannot read thread %s in %s: %s", thread, channel, exc)
            return (), ()
        found: list[str] = []
        asked: list[str] = []
        messages: list[Mapping[str, Any]] = replies.get("messages", [])
        pending: list[str] = []  # questions not yet answered
        for message in messages:
            said = str(message.get("text", "")) + _block_text(message)
            ts = str(message.get("ts", ""))
            if message.get("bot_id") and is_refusal(said):
                pending.clear()  # a declined turn (and its closest posts) is no context
                continue
            found += [match.group(1) for match in _LINK.finditer(said)]
            if message.get("bot_id"):
                asked += pending
                pending.clear()
            elif ts != thread and ts != current:
                text = _MENTION.sub("", str(message.get("text", ""))).strip()
                if text:
                    pending.append(text)
        return tuple(dict.fromkeys(found)), tuple([*asked, *pending])

    async def _caller(self, user: str, name: str) -> Caller:
        """Who is calling, with Slack's word on whether they administer the workspace."""
        is_admin = False
        try:
            info = await self.client.users_info(user=user)
            profile: Mapping[str, Any] = info.get("user", {})
            is_admin = bool(
                profile.get("is_admin")
                or profile.get("is_owner")
                or profile.get("is_primary_owner")
            )
        except SlackApiError as exc:
            log.warning("slack: users.info failed for %s: %s", user, exc)
        return Caller(PLATFORM, user, name=name, is_admin=is_admin)

    async def _first_time(self, body: Mapping[str, Any]) -> bool:
        """False for an event already handled (Slack re-sends events it thinks were missed, to any
        of the bot's processes)."""
        event_id = str(body.get("event_id", ""))
        if not event_id:
            return True
        return await self.first_seen(event_id)

    async def _first_seen_here(self, event_id: str) -> bool:
        """In memory, for a SlackBot used without the bot's shared check."""
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        if len(self._seen) > SEEN_EVENTS:
            self._seen.popitem(last=False)
        return True


@web.middleware
async def _reject_bad_timestamps(request: web.Request, handler: Any) -> web.StreamResponse:
    """A request whose X-Slack-Request-Timestamp is not a number is refused (401) before bolt,
    whose signature check would raise on it and log a traceback for anyone who can reach us."""
    stamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if request.method == "POST" and not (stamp.isascii() and stamp.isdigit()):
        return web.json_response({"error": "invalid request"}, status=401)
    response: web.StreamResponse = await handler(request)
    return response


def _block_text(message: Mapping[str, Any]) -> str:
    texts: list[str] = []
    for block in message.get("blocks", []) or []:
        text = block.get("text")
        if isinstance(text, dict):
            texts.append(str(text.get("text", "")))
        for element in block.get("elements", []) or []:
            if isinstance(element, dict) and "text" in element:
                texts.append(str(element["text"]))
    return "\n".join(texts)
