"""Discord through discord.py: the `/briefing` app command tree, questions in digest threads, and digest
delivery as embeds. It parses, renders and posts; the command set decides.

Commands are synced in `setup_hook` (once per start; `on_ready` fires again on every reconnect), and
nothing is posted from gateway events: digests come only from the outbox, so a reconnect cannot
repeat one.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import available_timezones

import discord
from discord import app_commands

from adapters.contract import (
    Caller,
    DeliveryError,
    Invocation,
    MessageRejectedError,
    OutgoingMessage,
    PermanentDeliveryError,
    RegisteredHandler,
    Reply,
    TransientDeliveryError,
)
from adapters.discord.buttons import ItemButton, item_view, on_ask_submitted
from adapters.discord.render import digest_messages, reply_payloads, roundup_messages
from briefings.ask import is_refusal
from briefings.models import Digest, Subscription
from briefings.registry import ArgKind, CommandSpec, Registry
from briefings.roundup import Roundup

log = logging.getLogger(__name__)

PLATFORM = "discord"
NO_MENTIONS = discord.AllowedMentions.none()
# Discord error codes that mean the bot cannot post there until a person acts: pause the channel.
PERMANENT_CODES = frozenset({10003, 10004, 50001, 50013, 50007})  # unknown channel/guild, access
THREAD_MEMORY = 30  # earlier messages of a thread read as context for a question in it
_CITED = re.compile(r"\(<(https?://[^>\s]+)>\)")  # a cited post's link as render.py writes it
ANSWER_WITHIN = 2.0  # seconds a command may take before the interaction is deferred (limit: 3)
THREAD_NAME = "Questions about this briefing"


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    sharded: bool = False
    shard_count: int | None = None  # fixed total across processes (None: one, or Discord's)
    shard_ids: tuple[int, ...] | None = None  # this process's shards (None: all of them)
    message_content: bool = False  # privileged intent: questions in threads without a mention
    requests_per_second: float = 40.0  # under Discord's global 50/s, leaving room for replies
    sync_commands: bool = True  # off for `run --once`, which only sends
    # Seconds discord.py waits after the last GUILD_CREATE before it calls the client ready (its own
    # default); tests against a fake that sends every guild at once set it near zero.
    guild_ready_timeout: float = 2.0
    # Seconds between one shard's IDENTIFY and the next (Discord allows one per 5 s per bucket); a
    # fake gateway has no such limit.
    identify_interval: float = 5.0


class DiscordPlatform:
    """Delivery to Discord channels (the `ChatPlatform` the outbox uses)."""

    name = PLATFORM

    def __init__(self, client: discord.Client, requests_per_second: float) -> None:
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
        """Post one message; `key` is its nonce (with enforce_nonce, a resend within Discord's
        window returns the first message), so a retry needs no search (`since` is not used)."""
        payload = message.payload
        try:
            target = await self._channel(int(channel))
            view = item_view(payload.get("components") or [])
            sent = await target.send(
                content=payload["content"] or None,
                embeds=[discord.Embed.from_dict(e) for e in payload["embeds"]],
                allowed_mentions=NO_MENTIONS,
                nonce=key,
                **({"view": view} if view is not None else {}),
            )
            if view is not None:
                view.stop()  # clicks go to the registered ItemButton, by custom_id
        except discord.HTTPException as exc:
            raise delivery_error(exc) from exc
        except (OSError, TimeoutError) as exc:
            raise TransientDeliveryError(f"cannot reach Discord: {exc}") from exc
        if message.post_ids:
            try:  # questions about this digest go in a thread under it
                await sent.create_thread(name=THREAD_NAME, auto_archive_duration=1440)
            except discord.HTTPException as exc:  # the digest is out; a thread is a bonus
                log.warning("discord %s: no thread for the digest: %s", channel, exc)
        return str(sent.id)

    async def tell_admins(
        self, subscription: Subscription, text: str, admins: Sequence[str]
    ) -> None:
        """A direct message to each: the channel's admin (when a user set it up) and the
        configured Discord admins."""
        users = [u for u in dict.fromkeys((subscription.admin_user, *admins)) if u.isdigit()]
        if not users:
            log.warning("discord %s: %s (no admin to tell)", subscription.channel, text)
        for user_id in users:
            try:
                user = await self.client.fetch_user(int(user_id))
                await user.send(text, allowed_mentions=NO_MENTIONS)
            except discord.HTTPException as exc:
                log.warning("discord: cannot tell %s: %s", user_id, exc)

    async def _channel(self, channel_id: int) -> Any:
        found = self.client.get_channel(channel_id)
        return found if found is not None else await self.client.fetch_channel(channel_id)


def delivery_error(exc: discord.HTTPException) -> DeliveryError:
    """Discord's answer, sorted: channel unusable (pause), message unacceptable (a 4xx that is not
    a rate limit or an auth error, e.g. 400 with 50035 Invalid Form Body: drop it, go on), or worth
    retrying (429s discord.py gave up on, 5xx, auth)."""
    reason = f"{exc.status} {exc.text or type(exc).__name__} (code {exc.code})"
    if exc.code in PERMANENT_CODES or isinstance(exc, discord.Forbidden | discord.NotFound):
        return PermanentDeliveryError(reason)
    if 400 <= exc.status < 500 and exc.status not in (401, 429):
        return MessageRejectedError(reason)
    return TransientDeliveryError(reason)


class BriefingClient(discord.AutoShardedClient):
    """The client; runs sharded only when asked (AutoShardedClient with one shard otherwise)."""

    def __init__(self, settings: DiscordSettings) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True  # thread replies and mentions
        intents.message_content = settings.message_content
        shard_count = settings.shard_count or (None if settings.sharded else 1)
        shards: dict[str, Any] = {"shard_count": shard_count}
        if settings.shard_ids is not None:  # this process's share of the bot's shards
            shards["shard_ids"] = list(settings.shard_ids)
        super().__init__(
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            guild_ready_timeout=settings.guild_ready_timeout,
            **shards,
        )
        self.settings = settings
        self.tree = app_commands.CommandTree(self)
        self._commands: RegisteredHandler | None = None
        self.platform = DiscordPlatform(self, settings.requests_per_second)
        # Digest items' buttons, understood from their custom_id alone (so after a restart too).
        self.add_dynamic_items(ItemButton)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py's own wait between shards' IDENTIFYs, its length our setting."""
        if not initial:
            await asyncio.sleep(self.settings.identify_interval)

    async def setup_hook(self) -> None:
        # One process syncs the commands: the one running shard 0 (every process when unsharded).
        ids = self.settings.shard_ids
        if self.settings.sync_commands and (ids is None or 0 in ids):
            await self.tree.sync()

    @property
    def commands(self) -> RegisteredHandler | None:
        return self._commands

    @commands.setter
    def commands(self, handler: RegisteredHandler | None) -> None:
        """Attach the command set; `/briefing` is built from its registry (synced at login)."""
        self._commands = handler
        self.tree.remove_command("briefing")
        if handler is not None:
            self.tree.add_command(briefing_group(self, handler.registry))

    async def handle(self, invocation: Invocation) -> Reply:
        if self.commands is None:
            raise RuntimeError("the command set is not attached")
        return await self.commands.handle(invocation)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Ask forms' submissions, taken from their custom_id (see `AskForm`)."""
        await on_ask_submitted(interaction)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user is None or message.guild is None:
            return  # ourselves, other bots, and direct messages
        channel = message.channel
        thread = ""
        parent = str(channel.id)
        if isinstance(channel, discord.Thread):
            parent = str(channel.parent_id)
            thread = str(channel.id)  # a thread started from a message has that message's id
        mentioned = self.user in message.mentions
        replied = message.reference.message_id if message.reference else None
        if replied is not None and await self._is_digest(parent, str(replied)):
            thread = str(replied)
        if not (mentioned or (thread and await self._is_digest(parent, thread))):
            return
        question = message.content.replace(f"<@{self.user.id}>", "").strip()
        if not question:
            return
        cited, asked = await self._thread_context(channel, message)
        reply = await self.handle(
            Invocation(
                caller=Caller(PLATFORM, str(message.author.id), name=message.author.name),
                channel=parent,
                text=question,
                workspace=str(message.guild.id),
                thread=thread,
                context_urls=cited,
                context_questions=asked,
                question=True,
            )
        )
        for payload in reply_payloads(reply):
            await channel.send(
                content=payload["content"] or None,
                embeds=[discord.Embed.from_dict(e) for e in payload["embeds"]],
                allowed_mentions=NO_MENTIONS,
                reference=message,
                mention_author=False,
            )

    async def _thread_context(
        self, channel: object, message: discord.Message
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """In a thread: the links the bot's earlier answers cited and the questions asked before
        this one (oldest first), as context for it. Elsewhere, or if Discord will not show the
        thread's history, none."""
        if not isinstance(channel, discord.Thread) or self.user is None:
            return (), ()
        cited: list[str] = []
        asked: list[str] = []
        try:
            earlier = [m async for m in channel.history(limit=THREAD_MEMORY, before=message)]
        except discord.HTTPException as exc:
            log.warning("discord: cannot read thread %s: %s", channel.id, exc)
            return (), ()
        pending: list[str] = []  # questions not yet answered
        for past in reversed(earlier):  # history comes newest first
            if past.author.id == self.user.id:
                texts = [past.content, *(e.description or "" for e in past.embeds)]
                if any(is_refusal(text) for text in texts):
                    pending.clear()  # a declined turn (and its closest posts) is no context
                    continue
                cited += [m.group(1) for text in texts for m in _CITED.finditer(text)]
                cited += [e.url for e in past.embeds if e.url]
                asked += pending
                pending.clear()
            elif not past.author.bot:
                text = past.content.replace(f"<@{self.user.id}>", "").strip()
                if text:
                    pending.append(text)
        return tuple(dict.fromkeys(cited)), tuple([*asked, *pending])

    async def _is_digest(self, channel: str, message_id: str) -> bool:
        return self.commands is not None and await self.commands.is_digest_thread(
            PLATFORM, channel, message_id
        )


async def run_command(
    client: BriefingClient,
    interaction: discord.Interaction,
    spec: CommandSpec,
    values: Mapping[str, Any],
) -> None:
    """Hand the typed options straight to the command set, and answer within Discord's 3 s:
    directly when the command is quick, else defer (as privately as the command replies) and
    follow up."""
    user = interaction.user
    permissions = interaction.permissions
    caller = Caller(
        PLATFORM,
        str(user.id),
        name=user.name,
        is_admin=bool(permissions.manage_guild or permissions.administrator),
    )
    channel = interaction.channel
    parent_id = interaction.channel_id
    thread = ""
    if isinstance(channel, discord.Thread):
        parent_id, thread = channel.parent_id, str(channel.id)
    invocation = Invocation(
        caller=caller,
        channel=str(parent_id),
        text=spec.name,
        args=dict(values),
        workspace=str(interaction.guild_id or ""),
        thread=thread,
    )
    work = asyncio.ensure_future(client.handle(invocation))
    done, _ = await asyncio.wait({work}, timeout=ANSWER_WITHIN)
    if not done:
        await interaction.response.defer(ephemeral=spec.private, thinking=True)
    reply = await work
    payloads = reply_payloads(reply)
    for i, payload in enumerate(payloads):
        embeds = [discord.Embed.from_dict(e) for e in payload["embeds"]]
        if i == 0 and not interaction.response.is_done():
            await interaction.response.send_message(
                content=payload["content"] or None,
                embeds=embeds,
                ephemeral=reply.ephemeral,
                allowed_mentions=NO_MENTIONS,
            )
        else:
            await interaction.followup.send(
                content=payload["content"] or discord.utils.MISSING,
                embeds=embeds,
                ephemeral=reply.ephemeral,
                allowed_mentions=NO_MENTIONS,
            )


_ZONES: list[str] = []


async def zone_choices(_: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    if not _ZONES:
        _ZONES.extend(sorted(available_timezones()))
    wanted = current.lower().replace(" ", "_")
    matches = [z for z in _ZONES if wanted in z.lower()][:25]
    return [app_commands.Choice(name=z, value=z) for z in matches]


# How each kind of argument is typed as a Discord option: (annotation, default; None = optional).
OPTION_TYPES: dict[ArgKind, tuple[Any, Any]] = {
    ArgKind.REST: (str, inspect.Parameter.empty),
    ArgKind.SCHEDULE: (str, inspect.Parameter.empty),
    ArgKind.SWITCH: (bool, inspect.Parameter.empty),
    ArgKind.WORD: (str | None, None),
    ArgKind.ZONE: (str | None, None),
    ArgKind.TAGS: (str | None, None),
}


def briefing_group(client: BriefingClient, registry: Registry) -> app_commands.Group:
    """`/briefing ...`: every command of the registry as a typed subcommand (one sub-group level,
    e.g. `/briefing schedule set`)."""
    group = app_commands.Group(name="briefing", description="IR in Five briefings")
    groups: dict[str, app_commands.Group] = {}
    for spec in registry.commands:
        *path, leaf = spec.name.split()
        parent = group
        if path:
            if path[0] not in groups:
                description = registry.groups[path[0]]
                groups[path[0]] = app_commands.Group(
                    name=path[0], description=description, parent=group
                )
            parent = groups[path[0]]
        parent.add_command(_subcommand(client, spec, leaf, parent))
    return group


def _subcommand(
    client: BriefingClient, spec: CommandSpec, name: str, parent: app_commands.Group
) -> app_commands.Command[Any, ..., None]:
    """One command, its options typed from the registry: discord.py reads them from the
    callback's signature, so the callback is given one built from the declared arguments."""

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await run_command(client, interaction, spec, values)

    options = []
    for arg in spec.args:
        annotation, default = OPTION_TYPES[arg.kind]
        options.append(
            inspect.Parameter(
                arg.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
            )
        )
    first = inspect.Parameter(
        "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
    )
    callback.__signature__ = inspect.Signature([first, *options])  # type: ignore[attr-defined]
    if spec.args:
        app_commands.describe(**{arg.name: arg.description for arg in spec.args})(callback)
    zones = {arg.name: zone_choices for arg in spec.args if arg.kind is ArgKind.ZONE}
    if zones:
        app_commands.autocomplete(**zones)(callback)
    return app_commands.Command(
        name=name, description=spec.description, callback=callback, parent=parent
    )
