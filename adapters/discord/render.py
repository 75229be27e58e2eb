"""Engine models -> Discord messages with embeds, inside every Discord limit, post text made inert.

Limits kept (Discord's), whatever the post: message content 2,000 characters; embed title 256,
description 4,096, footer 2,048; 10 embeds and 6,000 embed characters per message, counted as
discord.py counts them: embeds are built as `discord.Embed` and measured with `len()`, then stored
as their dicts (the outbox keeps JSON). Each embed is built to stay under 4,600 characters (title,
one description piece, a short footer), so any one embed fits a message on its own. Longer text
continues in further embeds and messages; nothing is cut. Post text has its markdown escaped (so a
post cannot hide a link behind `[text](url)` or shout in headings), and every message goes out with
mentions disabled, so `@everyone`, `@here`, `<@id>` and `<@&role>` in a post stay text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import discord

from adapters import splitting
from adapters.contract import ITEM_ACTIONS, OutgoingMessage, Reply, item_id
from briefings.models import Answer, Digest, DigestItem, SearchHit
from briefings.roundup import Roundup, RoundupPost
from briefings.tags import describe as describe_tags

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FOOTER_LIMIT = 2048
FOOTER_MAX = 200  # what our footers use: a longer category line goes in the description
EMBEDS_PER_MESSAGE = 10
EMBED_CHARS_PER_MESSAGE = 6000
COLOUR = 0x1F4E79

_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()-])")


def escape(text: str) -> str:
    """Markdown characters escaped; what remains is plain text.

    Not `discord.utils.escape_markdown`: it escapes only the first `[` of `[a] and [b](url)` (the
    second link stays live), `#`, `-` and `>` only at a line's start, and never `(` or `)`. This
    escapes each of them wherever it stands, which Discord shows as the character itself.
    """
    return _MARKDOWN.sub(r"\\\1", text)


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters; a hard cut never separates `\\` from its character."""
    return splitting.split_text(text, limit, _after_escape)


def _after_escape(text: str, cut: int) -> int:
    return cut - 1 if text[cut - 1] == "\\" else cut


def _date(value: datetime | None) -> str:
    return value.strftime("%d %b %Y") if value else "undated"


def item_embeds(item: DigestItem) -> list[discord.Embed]:
    """One embed per post; a post too long for one continues in more, each marked as such."""
    title = escape(item.title)
    topics = describe_tags(item.tags)
    footer = " · ".join(p for p in ("IR in Five", escape(item.category), topics) if p)
    lines = []
    if len(title) > TITLE_LIMIT:  # the full title goes in the text, never lost
        lines.append(f"**{title}**")
        title = title[: TITLE_LIMIT - 1].rstrip("\\") + "…"
    if len(footer) > FOOTER_MAX:  # so is a long category or topics line
        lines += [
            p for p in (escape(item.category), escape(f"Topics: {topics}") if topics else "") if p
        ]
        footer = "IR in Five"
    if item.follows_up_title:
        lines.append(
            f"Follows up on: [{escape(item.follows_up_title)}](<{_link_url(item.follows_up_url)}>)"
        )
    if item.summary:
        lines.append(escape(item.summary))
    if item.take:
        label = escape(item.take_label or "Take")
        lines.append(f"**{label} (the post's own view):** {escape(item.take)}")
    if item.sources:
        lines.append(f"Sources: {escape(', '.join(item.sources))}")
    pieces = split_text("\n\n".join(lines), DESCRIPTION_LIMIT)
    embeds: list[discord.Embed] = []
    for i, piece in enumerate(pieces):
        first, last = i == 0, i == len(pieces) - 1
        embed = discord.Embed(
            colour=COLOUR,
            title=(title or None) if first else "(continued)",
            url=item.url if first else None,
            description=piece or None,
            timestamp=item.published if last else None,
        )
        if last:
            embed.set_footer(text=footer)
        embeds.append(embed)
    return embeds


ROWS_PER_MESSAGE = 5  # Discord: at most 5 action rows per message, so at most 5 items
BUTTON_LABELS = {"more": "More", "ask": "Ask", "up": "👍", "down": "👎"}
LABEL_TITLE = 60  # the item's title on its More button, so rows match embeds at a glance
_BUTTON_STYLES = {"more": 1, "ask": 2, "up": 3, "down": 4}  # primary, secondary, success, danger


def item_row(item: DigestItem) -> dict[str, Any]:
    """The item's buttons as one action row (stored with the message; sent as a persistent view
    whose custom_ids carry the post, see adapters/discord/buttons.py)."""
    title = " ".join(item.title.split())
    if len(title) > LABEL_TITLE:  # a button label, not the post's text: the embed has it whole
        title = title[: LABEL_TITLE - 1].rsplit(" ", 1)[0] + "…"
    labels = dict(BUTTON_LABELS, more=f"More: {title}" if title else "More")
    return {
        "type": 1,
        "components": [
            {
                "type": 2,
                "style": _BUTTON_STYLES[action],
                "label": labels[action],
                "custom_id": item_id(action, item.post_id),
            }
            for action in ITEM_ACTIONS
        ],
    }


def briefing_payloads(item: DigestItem) -> list[dict[str, Any]]:
    """A post's fuller briefing (the reply to More) as messages of embeds within the limits."""
    messages: list[list[discord.Embed]] = [[]]
    for embed in item_embeds(item):
        embeds = messages[-1]
        full = len(embeds) >= EMBEDS_PER_MESSAGE
        if embeds and (full or sum(map(len, embeds)) + len(embed) > EMBED_CHARS_PER_MESSAGE):
            messages.append([])
        messages[-1].append(embed)
    return [
        {"content": "More on this post:" if i == 0 else "", "embeds": [e.to_dict() for e in m]}
        for i, m in enumerate(messages)
    ]


DIGEST_NOTE = (
    "Summaries are sentences from each post; takes are the posts' own views. Ask in the thread."
)


def digest_messages(digest: Digest) -> list[OutgoingMessage]:
    count = len(digest.items)
    heading = f"**{escape(digest.title)}** · {count} new post{'s' if count != 1 else ''}"
    notes = "\n".join(f"_{escape(note)}_" for note in digest.notes)
    if digest.empty:
        content = "\n".join(p for p in ("No new posts since the last briefing.", notes) if p)
        return [_message(piece, [], ()) for piece in split_text(content, CONTENT_LIMIT)]
    content = "\n".join(p for p in (heading, notes, DIGEST_NOTE) if p)
    messages: list[tuple[list[discord.Embed], list[int]]] = [([], [])]
    for item in digest.items:
        if len(messages[-1][1]) >= ROWS_PER_MESSAGE:  # one row of buttons per item
            messages.append(([], []))
        for embed in item_embeds(item):
            embeds, _ = messages[-1]
            full = len(embeds) >= EMBEDS_PER_MESSAGE
            # len(discord.Embed): the characters Discord counts toward 6,000 per message.
            if embeds and (full or sum(map(len, embeds)) + len(embed) > EMBED_CHARS_PER_MESSAGE):
                messages.append(([], []))
            messages[-1][0].append(embed)
        messages[-1][1].append(item.post_id)  # marked sent with the message holding its end
    # The heading rides with the first message; what does not fit in 2,000 characters (many long
    # notes) goes first in messages of its own, which carry no post.
    texts = split_text(content, CONTENT_LIMIT)
    out = [_message(text, [], ()) for text in texts[:-1]]
    continued = split_text(f"{escape(digest.title)} (continued)", CONTENT_LIMIT)[0]
    rows = {item.post_id: item_row(item) for item in digest.items}
    for i, (embeds, post_ids) in enumerate(messages):
        content = texts[-1] if i == 0 else continued
        components = [rows[post_id] for post_id in post_ids]
        out.append(_message(content, embeds, tuple(post_ids), components))
    return out


def _message(
    content: str,
    embeds: list[discord.Embed],
    post_ids: tuple[int, ...],
    components: list[dict[str, Any]] | None = None,
) -> OutgoingMessage:
    payload: dict[str, Any] = {"content": content, "embeds": [e.to_dict() for e in embeds]}
    if components:
        payload["components"] = components
    return OutgoingMessage(post_ids=post_ids, payload=payload)


def answer_text(answer: Answer) -> str:
    parts = [escape(answer.text)]
    if answer.opinion:
        parts.append(f"> {escape(answer.opinion)}")
    if answer.citations:
        heading = "Source" if answer.grounded else "Closest posts"
        cited = "\n".join(
            f"- [{escape(c.title)}](<{c.url}>) ({_date(c.published)})" for c in answer.citations
        )
        parts.append(f"{heading}:\n{cited}")
    return "\n\n".join(parts)


def hits_text(hits: Sequence[SearchHit]) -> str:
    return "\n\n".join(
        f"**[{escape(h.post.title)}](<{h.post.url}>)** ({_date(h.post.published)})\n{escape(h.snippet)}"
        for h in hits
    )


def reply_payloads(reply: Reply) -> list[dict[str, Any]]:
    """A command reply as message payloads (`content`, `embeds`), each within the limits."""
    texts: list[str] = []
    if reply.text:
        # The command set's own words (its backticks are meant); mentions are off on every send.
        text = reply.text
        if "\n  " in reply.text:  # help and status: aligned columns, kept monospaced
            fenced = reply.text.replace("```", "\u2018\u2018\u2018")
            text = f"```\n{fenced}\n```"
        texts.append(text)
    if reply.answer is not None:
        asked = ""
        if reply.question:  # an Ask form's question, the asker's text: escaped like post text
            who = (
                f"<@{reply.asker}>"
                if reply.asker.isascii() and reply.asker.isdigit()
                else "Someone"
            )
            asked = f"{who} asked: “{escape(reply.question)}”\n\n"
        texts.append(asked + answer_text(reply.answer))
    if reply.hits:
        texts.append(hits_text(reply.hits))
    out: list[dict[str, Any]] = []
    for text in texts:
        pieces = _code_aware_split(text)
        out += [{"content": piece, "embeds": []} for piece in pieces]
    if reply.briefing is not None:
        out += briefing_payloads(reply.briefing)
    if reply.digest is not None:
        out += [dict(m.payload) for m in digest_messages(reply.digest)]
    if reply.roundup is not None:
        out += [dict(m.payload) for m in roundup_messages(reply.roundup)]
    return out


def _code_aware_split(text: str) -> list[str]:
    if not text.startswith("```") or len(text) <= CONTENT_LIMIT:
        return split_text(text, CONTENT_LIMIT)
    body = text[4:-4]
    return [f"```\n{piece}\n```" for piece in split_text(body, CONTENT_LIMIT - 8)]


def _link_url(url: str) -> str:
    """A URL that cannot end a markdown link early."""
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def _roundup_post_line(post: RoundupPost) -> str:
    """One post of a roundup: its linked title and date; a long title or URL is written out."""
    title, date = escape(post.title), _date(post.published)
    if len(title) <= ROUNDUP_INLINE_TITLE and len(post.url) <= ROUNDUP_INLINE_URL:
        return f"- [{title}]({_link_url(post.url)}) ({date})"
    return f"- {title} ({date})\n{escape(post.url)}"


ROUNDUP_INLINE_TITLE = 500  # a longer title is written out, not a link's label
ROUNDUP_INLINE_URL = 1000


def roundup_messages(roundup: Roundup) -> list[OutgoingMessage]:
    """The weekly roundup: one embed per region (or one for all), its description a list of
    stories; a long list continues in more embeds and messages, nothing cut. The messages mark no
    post as sent: a roundup lists posts that digests already delivered."""
    heading = f"**{escape(roundup.heading)}**"
    if roundup.empty:
        text = f"{heading}\nNothing was published in that time."
        return [_message(piece, [], ()) for piece in split_text(text, CONTENT_LIMIT)]
    embeds: list[discord.Embed] = []
    for section in roundup.sections:
        blocks = []
        for story in section.stories:
            lines = [f"**{escape(story.heading)}**", *map(_roundup_post_line, story.posts)]
            blocks.append("\n".join(lines))
        title = escape(section.region or roundup.title)
        if len(title) > TITLE_LIMIT:  # the whole name goes in the text, never lost
            blocks.insert(0, f"**{title}**")
            title = title[: TITLE_LIMIT - 1].rstrip("\\") + "…"
        for n, piece in enumerate(split_text("\n\n".join(blocks), DESCRIPTION_LIMIT)):
            embeds.append(
                discord.Embed(
                    colour=COLOUR, title=title if n == 0 else "(continued)", description=piece
                )
            )
    messages: list[list[discord.Embed]] = [[]]
    for embed in embeds:
        current = messages[-1]
        full = len(current) >= EMBEDS_PER_MESSAGE
        if current and (full or sum(map(len, current)) + len(embed) > EMBED_CHARS_PER_MESSAGE):
            messages.append([])
        messages[-1].append(embed)
    texts = split_text(heading, CONTENT_LIMIT)
    out = [_message(text, [], ()) for text in texts[:-1]]
    continued = split_text(f"{escape(roundup.title)} (continued)", CONTENT_LIMIT)[0]
    for i, group in enumerate(messages):
        out.append(_message(texts[-1] if i == 0 else continued, group, ()))
    return out
