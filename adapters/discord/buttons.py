"""A digest item's buttons on Discord: More / Ask / 👍 / 👎 as persistent components.

Each button's `custom_id` is `briefbot:<action>:<post id>`, and `ItemButton` is registered as a
dynamic item when the client starts, so a click on a digest sent by an earlier process (or before a
restart) is still understood: nothing about the button lives in memory. Every click is answered
within Discord's 3 s before any work (a deferred, private "thinking" reply, or the Ask form itself),
and the work's reply follows up."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import discord

from adapters.contract import (
    ITEM_ACTIONS,
    POST_GONE,
    UNKNOWN_BUTTON,
    Caller,
    ItemAction,
    Reply,
    item_id,
    parse_item_id,
)
from adapters.discord.render import reply_payloads

log = logging.getLogger(__name__)

PLATFORM = "discord"
NO_MENTIONS = discord.AllowedMentions.none()
TEMPLATE = r"briefbot:(?P<action>more|ask|up|down):(?P<post>[^:]*)"  # checked by parse_item_id
ASK_FORM = "briefbot:askform"  # the Ask form's custom_id prefix: briefbot:askform:<post>:<message>
_STYLES = {
    "more": discord.ButtonStyle.primary,
    "ask": discord.ButtonStyle.secondary,
    "up": discord.ButtonStyle.success,
    "down": discord.ButtonStyle.danger,
}


class ItemButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """One of an item's buttons; rebuilt from its custom_id on every click."""

    def __init__(
        self,
        action: str,
        post_id: int,
        label: str = "",
        row: int | None = None,
        *,
        known: bool = True,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or action,
                style=_STYLES[action],
                custom_id=item_id(action, post_id),
            ),
            row=row,
        )
        self.action = action
        self.post_id = post_id
        self.known = known

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: Any,
        /,
    ) -> ItemButton:
        parsed = parse_item_id(item_id(str(match["action"]), match["post"]))
        if parsed is None:  # not an id we make (a post id that is no number, or far too long)
            return cls(str(match["action"]), 0, known=False)
        return cls(*parsed)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if not self.known:
            await interaction.response.send_message(
                UNKNOWN_BUTTON, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        await on_item_button(interaction, self.action, self.post_id)


class AskForm(discord.ui.Modal):
    """The Ask form: one text field; the answer goes to the digest's thread.

    Never kept in discord.py's modal store (stopped before it is sent): the submission is taken
    from its custom_id by `on_ask_submitted`, so a form opened before a restart, by another
    process, or by two people on the same item at once, is answered all the same."""

    question: discord.ui.TextInput[AskForm] = discord.ui.TextInput(
        label="Your question",
        style=discord.TextStyle.paragraph,
        max_length=500,
        custom_id="question",
    )

    def __init__(self, post_id: int, message_id: str) -> None:
        super().__init__(
            title="Ask about this post", custom_id=f"{ASK_FORM}:{post_id}:{message_id}"
        )
        self.post_id = post_id
        self.message_id = message_id
        self.stop()  # not stored: any process answers the submission, from its custom_id


def _ask_form_target(custom_id: str) -> tuple[int, str] | None:
    """(post id, digest message id) from `briefbot:askform:<post>:<message>`; None otherwise."""
    head, _, rest = custom_id.partition(f"{ASK_FORM}:")
    if head or not rest:
        return None
    post, _, message = rest.partition(":")
    parsed = parse_item_id(item_id("ask", post))
    if parsed is None or (message and not (message.isascii() and message.isdigit())):
        return None
    return parsed[1], message


def _field(components: Any, custom_id: str) -> str:
    """A text field's value among a modal submission's components (rows or labels, nested)."""
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, dict):
            continue
        if component.get("custom_id") == custom_id and "value" in component:
            return str(component.get("value") or "")
        nested = component.get("components") or [component.get("component")]
        found = _field(nested, custom_id)
        if found:
            return found
    return ""


async def on_ask_submitted(interaction: discord.Interaction[Any]) -> bool:
    """An Ask form's submission (MODAL_SUBMIT), whichever process opened the form; False when the
    interaction is not one. Acknowledged at once; the answer goes to the digest's thread."""
    data: Mapping[str, Any] = interaction.data or {}
    if interaction.type is not discord.InteractionType.modal_submit:
        return False
    custom_id = str(data.get("custom_id", ""))
    if not custom_id.startswith(f"{ASK_FORM}:"):
        return False
    await interaction.response.defer(ephemeral=True, thinking=True)
    target = _ask_form_target(custom_id)
    if target is None:
        await _follow_up(interaction, Reply(text=UNKNOWN_BUTTON, ephemeral=True, ok=False))
        return True
    post_id, message_id = target
    reply = await _act(interaction, "ask", post_id, _field(data.get("components"), "question"))
    if not reply.ok or not message_id:  # a refusal, or a digest without a thread: privately
        await _follow_up(interaction, reply)
        return True
    thread = interaction.client.get_partial_messageable(
        int(message_id), guild_id=interaction.guild_id
    )
    for payload in reply_payloads(reply):
        await thread.send(
            content=payload["content"] or None,
            embeds=[discord.Embed.from_dict(e) for e in payload["embeds"]],
            allowed_mentions=NO_MENTIONS,
        )
    await interaction.followup.send(
        "Answered in the digest's thread.", ephemeral=True, allowed_mentions=NO_MENTIONS
    )
    return True


async def on_item_button(interaction: discord.Interaction[Any], action: str, post_id: int) -> None:
    if action == "ask":  # the form is the answer to the click (within 3 s: one indexed read first)
        commands = getattr(interaction.client, "commands", None)
        if commands is not None and await commands.ask_title(post_id) is None:
            await interaction.response.send_message(
                POST_GONE, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        message = interaction.message
        await interaction.response.send_modal(AskForm(post_id, str(message.id) if message else ""))
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    await _follow_up(interaction, await _act(interaction, action, post_id))


async def _act(
    interaction: discord.Interaction[Any], action: str, post_id: int, question: str = ""
) -> Reply:
    commands = getattr(interaction.client, "commands", None)
    if commands is None:
        return Reply(text="The bot is starting; try again in a moment.", ephemeral=True, ok=False)
    channel = interaction.channel
    parent = interaction.channel_id
    if isinstance(channel, discord.Thread):
        parent = channel.parent_id
    user = interaction.user
    return await commands.act(  # type: ignore[no-any-return]
        ItemAction(
            caller=Caller(PLATFORM, str(user.id), name=user.name),
            channel=str(parent),
            post_id=post_id,
            action=action,
            question=question,
            workspace=str(interaction.guild_id or ""),
        )
    )


async def _follow_up(interaction: discord.Interaction[Any], reply: Reply) -> None:
    for payload in reply_payloads(reply):
        await interaction.followup.send(
            content=payload["content"] or discord.utils.MISSING,
            embeds=[discord.Embed.from_dict(e) for e in payload["embeds"]],
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


def item_view(rows: Sequence[Mapping[str, Any]]) -> discord.ui.View | None:
    """A view (timeout None) carrying a digest message's stored component rows, for sending;
    None for none. Clicks are dispatched by the registered `ItemButton` from the custom_id, so
    the caller stops the view once the message is sent: kept in discord.py's view store, it
    would be one more object per digest, and a second receiver of each click."""
    if not rows:
        return None
    view = discord.ui.View(timeout=None)
    for number, row in enumerate(rows):
        for component in row.get("components", []):
            parsed = parse_item_id(str(component.get("custom_id", "")))
            if parsed is None or parsed[0] not in ITEM_ACTIONS:
                continue
            action, post_id = parsed
            view.add_item(
                discord.ui.Button(
                    label=str(component.get("label", "")) or action,
                    style=_STYLES[action],
                    custom_id=item_id(action, post_id),
                    row=number,
                )
            )
    return view
