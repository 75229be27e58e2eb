"""Discord through discord.py: the `/briefing` app command tree, questions in digest threads, and digest
delivery as embeds. It parses, renders and posts; the command set decides.

Commands are synced in `setup_hook` (once per start; `on_ready` fires again on every reconnect), and
nothing is posted from gateway events: digests come only from the outbox, so a reconnect cannot
repeat one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import available_timezones

import discord
from discord import app_commands

from adapters.discord.render import digest_messages, reply_payloads
from briefings.chat import (
    Caller,
    CommandHandler,
    DeliveryError,
    Invocation,
    OutgoingMessage,
    PermanentDeliveryError,
    Reply,
    TransientDeliveryError,
)
from briefings.models import Digest, Subscription

log = logging.getLogger(__name__)

PLATFORM = "discord"
NO_MENTIONS = discord.AllowedMentions.none()
# Discord error codes that mean the bot cannot post there until a person acts: pause the channel.
PERMANENT_CODES = frozenset({10003, 10004, 50001, 50013, 50007})  # unknown channel/guild, access
ANSWER_WITHIN = 2.0  # seconds a command may take before the interaction is deferred (limit: 3)
THREAD_NAME = "Questions about this briefing"


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    sharded: bool = False
    message_content: bool = False  # privileged intent: questions in threads without a mention
    requests_per_second: float = 40.0  # under Discord's global 50/s, leaving room for replies
    sync_commands: bool = True  # off for `run --once`, which only sends


class DiscordPlatform:
    """Delivery to Discord channels (the `ChatPlatform` the outbox uses)."""

    name = PLATFORM

    def __init__(self, client: discord.Client, requests_per_second: float) -> None:
        self.client = client
        self.requests_per_second = requests_per_second

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        return digest_messages(digest)

    async def send(self, channel: str, message: OutgoingMessage, *, key: str) -> str:
        payload = message.payload
        try:
            target = await self._channel(int(channel))
            sent = await target.send(
                content=payload["content"] or None,
                embeds=[discord.Embed.from_dict(e) for e in payload["embeds"]],
                allowed_mentions=NO_MENTIONS,
                nonce=key,
            )
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

    async def tell_admin(self, subscription: Subscription, text: str) -> None:
        if not subscription.admin_user.isdigit():
            log.warning("discord %s: %s", subscription.channel, text)
            return
        user = await self.client.fetch_user(int(subscription.admin_user))
        await user.send(text, allowed_mentions=NO_MENTIONS)

    async def _channel(self, channel_id: int) -> Any:
        found = self.client.get_channel(channel_id)
        return found if found is not None else await self.client.fetch_channel(channel_id)


def delivery_error(exc: discord.HTTPException) -> DeliveryError:
    reason = f"{exc.status} {exc.text or type(exc).__name__} (code {exc.code})"
    if exc.code in PERMANENT_CODES or isinstance(exc, discord.Forbidden | discord.NotFound):
        return PermanentDeliveryError(reason)
    return TransientDeliveryError(reason)


class BriefingClient(discord.AutoShardedClient):
    """The client; runs sharded only when asked (AutoShardedClient with one shard otherwise)."""

    def __init__(self, settings: DiscordSettings) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True  # thread replies and mentions
        intents.message_content = settings.message_content
        shard_count = None if settings.sharded else 1
        super().__init__(intents=intents, shard_count=shard_count, allowed_mentions=NO_MENTIONS)
        self.settings = settings
        self.tree = app_commands.CommandTree(self)
        self.commands: CommandHandler | None = None
        self.platform = DiscordPlatform(self, settings.requests_per_second)
        self.tree.add_command(briefing_group(self))

    async def setup_hook(self) -> None:
        if self.settings.sync_commands:
            await self.tree.sync()

    async def handle(self, invocation: Invocation) -> Reply:
        if self.commands is None:
            raise RuntimeError("the command set is not attached")
        return await self.commands.handle(invocation)

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
        if replied is not None and self._is_digest(parent, str(replied)):
            thread = str(replied)
        if not (mentioned or (thread and self._is_digest(parent, thread))):
            return
        question = message.content.replace(f"<@{self.user.id}>", "").strip()
        if not question:
            return
        reply = await self.handle(
            Invocation(
                caller=Caller(PLATFORM, str(message.author.id), name=message.author.name),
                channel=parent,
                text=question,
                workspace=str(message.guild.id),
                thread=thread,
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

    def _is_digest(self, channel: str, message_id: str) -> bool:
        return self.commands is not None and self.commands.is_digest_thread(
            PLATFORM, channel, message_id
        )


async def run_command(client: BriefingClient, interaction: discord.Interaction, text: str) -> None:
    """Answer within Discord's 3 s: directly when the command is quick, else defer and follow up."""
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
        text=text,
        workspace=str(interaction.guild_id or ""),
        thread=thread,
    )
    work = asyncio.ensure_future(client.handle(invocation))
    done, _ = await asyncio.wait({work}, timeout=ANSWER_WITHIN)
    if not done:
        await interaction.response.defer(ephemeral=_private(text), thinking=True)
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


def _private(text: str) -> bool:
    """Before the reply is known: which commands answer only the caller."""
    word = text.split()[0] if text.split() else "help"
    return word in ("help", "status", "preview", "latest", "search") or text.startswith(
        "schedule show"
    )


_ZONES: list[str] = []


async def zone_choices(_: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    if not _ZONES:
        _ZONES.extend(sorted(available_timezones()))
    wanted = current.lower().replace(" ", "_")
    matches = [z for z in _ZONES if wanted in z.lower()][:25]
    return [app_commands.Choice(name=z, value=z) for z in matches]


def briefing_group(client: BriefingClient) -> app_commands.Group:
    """`/briefing ...`: the platform-neutral command set as typed Discord subcommands."""
    group = app_commands.Group(name="briefing", description="IR in Five briefings")
    schedule = app_commands.Group(
        name="schedule", description="When this channel gets digests", parent=group
    )

    async def run(interaction: discord.Interaction, *words: str | None) -> None:
        await run_command(client, interaction, " ".join(w for w in words if w))

    @group.command(name="latest", description="The newest posts as a digest")
    async def latest(interaction: discord.Interaction) -> None:
        await run(interaction, "latest")

    @group.command(name="ask", description="A question, answered from the posts with a citation")
    async def ask(interaction: discord.Interaction, question: str) -> None:
        await run(interaction, "ask", question)

    @group.command(name="search", description="Posts matching some words")
    async def search(interaction: discord.Interaction, words: str) -> None:
        await run(interaction, "search", words)

    @group.command(name="preview", description="What this channel's next digest would post")
    async def preview(interaction: discord.Interaction) -> None:
        await run(interaction, "preview")

    @group.command(name="status", description="Feeds, and this channel's schedule and deliveries")
    async def status(interaction: discord.Interaction) -> None:
        await run(interaction, "status")

    @group.command(name="help", description="What the commands do")
    async def help_(interaction: discord.Interaction) -> None:
        await run(interaction, "help")

    @group.command(name="subscribe", description="(admin) Send digests to this channel")
    async def subscribe(interaction: discord.Interaction, source: str | None = None) -> None:
        await run(interaction, "subscribe", source)

    @group.command(name="unsubscribe", description="(admin) Stop digests here, or one source")
    async def unsubscribe(interaction: discord.Interaction, source: str | None = None) -> None:
        await run(interaction, "unsubscribe", source)

    @schedule.command(
        name="set",
        description="(admin) daily 08:00, weekdays 07:30, mon,thu 09:00, hourly, or cron",
    )
    @app_commands.autocomplete(timezone=zone_choices)
    async def schedule_set(
        interaction: discord.Interaction, when: str, timezone: str | None = None
    ) -> None:
        await run(interaction, "schedule set", when, timezone)

    @schedule.command(name="show", description="This channel's schedule and next run")
    async def schedule_show(interaction: discord.Interaction) -> None:
        await run(interaction, "schedule show")

    @schedule.command(name="clear", description="(admin) Back to the default schedule")
    async def schedule_clear(interaction: discord.Interaction) -> None:
        await run(interaction, "schedule clear")

    @schedule.command(name="skip-empty", description="(admin) Post nothing when nothing is new")
    async def schedule_skip_empty(interaction: discord.Interaction, on: bool) -> None:
        await run(interaction, "schedule skip-empty", "on" if on else "off")

    return group


def command_names(group: app_commands.Group) -> Sequence[str]:
    names = []
    for command in group.commands:
        if isinstance(command, app_commands.Group):
            names += [f"{command.name} {c.name}" for c in command.commands]
        else:
            names.append(command.name)
    return names
