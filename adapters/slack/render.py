"""Engine models -> Slack Block Kit, within Slack's limits, with post text made inert.

Limits kept, whatever the post: 3,000 characters per section text and per context element, 150 per
header, 50 blocks per message, each message's blocks under 11,000 characters of JSON (Slack's ceiling
is about 12,000) and its notification `text` under 1,000. Long text is split across sections and
messages, never cut; a piece whose JSON would be large (quotes and backslashes double) is split
smaller, so any one block fits a message on its own. Every character of post text is escaped (`&`, `<`, `>`), so `<!channel>`,
`<@U123>` or `<http://evil|click>` in a post shows as typed and cannot ping anyone or hide a link.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from adapters import splitting
from adapters.contract import (
    ITEM_ACTIONS,
    ChannelState,
    HomeView,
    OutgoingMessage,
    Reply,
    item_id,
)
from briefings.models import Answer, Digest, DigestItem, SearchHit
from briefings.roundup import Roundup, RoundupPost
from briefings.tags import describe as describe_tags

SECTION_LIMIT = 3000
CONTEXT_LIMIT = 3000  # one text element of a context block
HEADER_LIMIT = 150
MAX_BLOCKS = 50
MAX_MESSAGE_CHARS = 11_000  # JSON of one message's blocks; Slack's documented ceiling is 12,000
MAX_PIECE_JSON = 5_000  # JSON of one block's text: two always fit in a message
FALLBACK_TITLES = 5
FALLBACK_LIMIT = 1000  # the plain `text` of a digest message (a notification's preview)
INLINE_TITLE = 500  # a longer title is written out in full rather than as a link's label
INLINE_URL = 1000  # a longer URL is shown as text rather than hidden behind the title
INLINE_CATEGORY = 200  # a longer category line gets a line of its own, not the italic meta line

Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack's three control characters, escaped: the text reads as written and cannot mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A mrkdwn link whose URL cannot break out of `<...|...>`."""
    safe_url = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    return f"<{safe_url}|{escape(label)}>"


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters; a hard cut never splits an escape like `&amp;`."""
    return splitting.split_text(text, limit, _outside_entity)


def _outside_entity(text: str, cut: int) -> int:
    amp = text.rfind("&", max(0, cut - 5), cut)
    return amp if amp != -1 and ";" not in text[amp:cut] else cut


def pieces(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """`split_text`, then any piece whose JSON is too big for a block split again, smaller."""
    out: list[str] = []
    for piece in split_text(text, limit):
        if len(json.dumps(piece, ensure_ascii=False)) > MAX_PIECE_JSON and limit > 100:
            out += pieces(piece, limit // 2)
        else:
            out.append(piece)
    return out


def sections(mrkdwn: str) -> list[Block]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in pieces(mrkdwn)
    ]


def _date(value: datetime | None) -> str:
    return value.strftime("%d %b %Y") if value else "undated"


def item_blocks(item: DigestItem) -> list[Block]:
    """A post's sections. Long titles, URLs and categories are written out on lines of their
    own (a link or italics split across sections would show as markup)."""
    title, url, category = escape(item.title), item.url, escape(item.category)
    if len(title) <= INLINE_TITLE and len(url) <= INLINE_URL:
        lines = [f"*{link(url, item.title)}*"]
    else:
        lines = [title, link(url, "Read the post") if len(url) <= INLINE_URL else escape(url)]
    if len(category) <= INLINE_CATEGORY:
        lines.append("_" + " · ".join(p for p in (_date(item.published), category) if p) + "_")
    else:
        lines += [f"_{_date(item.published)}_", category]
    if item.follows_up_title:
        earlier = item.follows_up_title
        shown = (
            link(item.follows_up_url, earlier)
            if len(earlier) <= INLINE_TITLE and len(item.follows_up_url) <= INLINE_URL
            else escape(f"{earlier} ({item.follows_up_url})")
        )
        lines.append(f"Follows up on: {shown}")
    if item.summary:
        lines.append(escape(item.summary))
    if item.take:
        label = escape(item.take_label or "Take")
        lines.append(f"> *{label} (the post's own view):* {escape(item.take)}")
    if item.sources:
        lines.append(f"Sources: {escape(', '.join(item.sources))}")
    blocks = sections("\n".join(lines))
    topics = describe_tags(item.tags)
    if topics:  # a context line under the post; far below a context element's 3,000 characters
        blocks += [footer_block(piece) for piece in pieces(f"Topics: {escape(topics)}")]
    return blocks


def header_block(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": text[:HEADER_LIMIT] or "Briefing", "emoji": False},
    }


def footer_block(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def footer_blocks(text: str) -> list[Block]:
    """Context blocks for text of any length (3,000 characters per element)."""
    return [footer_block(piece) for piece in pieces(text, CONTEXT_LIMIT)]


# Button labels; each button's action_id is `briefbot:<action>:<post id>` (unique in a message, as
# Slack requires) and its value the post id.
BUTTON_LABELS = {"more": "More", "ask": "Ask", "up": "👍", "down": "👎"}


def item_actions_block(post_id: int) -> Block:
    """The item's More / Ask / 👍 / 👎 buttons, right under its sections."""
    return {
        "type": "actions",
        "block_id": f"briefbot-item-{post_id}",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": BUTTON_LABELS[action], "emoji": True},
                "action_id": item_id(action, post_id),
                "value": str(post_id),
            }
            for action in ITEM_ACTIONS
        ],
    }


def briefing_blocks(item: DigestItem) -> list[Block]:
    """A post's fuller briefing (the reply to More): the item's sections, no buttons."""
    return [*sections("*More on this post*"), *item_blocks(item)]


DIGEST_FOOTER = (
    "Summaries are sentences from each post; the quoted take is the post's own view. "
    "Reply in this thread to ask about these posts."
)


def digest_messages(digest: Digest) -> list[OutgoingMessage]:
    """A digest as one or more messages; each post's blocks stay together where they fit."""
    count = len(digest.items)
    title = f"{digest.title} · {count} new post{'s' if count != 1 else ''}"
    if digest.empty:
        blocks = [header_block(digest.title), *sections("No new posts since the last briefing.")]
        blocks += [b for n in digest.notes for b in footer_blocks(escape(n))]
        return [
            _message(part, (), "No new posts since the last briefing.")
            for part, _ in _pack([(None, blocks)])
        ]
    groups: list[tuple[int | None, list[Block]]] = [(None, [header_block(title)])]
    for item in digest.items:
        blocks = [{"type": "divider"}, *item_blocks(item), item_actions_block(item.post_id)]
        groups.append((item.post_id, blocks))
    tail = [b for n in digest.notes for b in footer_blocks(escape(n))]
    tail.append(footer_block(DIGEST_FOOTER))
    groups.append((None, tail))
    fallback = _fallback(digest)
    return [
        _message(blocks, post_ids, fallback if i == 0 else escape(f"{digest.title} (continued)"))
        for i, (blocks, post_ids) in enumerate(_pack(groups))
    ]


def _pack(
    groups: Sequence[tuple[int | None, list[Block]]],
) -> list[tuple[list[Block], tuple[int, ...]]]:
    """Fill messages in order; a post belongs to the message holding its last block."""
    messages: list[tuple[list[Block], list[int]]] = [([], [])]
    for post_id, blocks in groups:
        for block in blocks:
            current, _ = messages[-1]
            if current and not _fits(current, block):
                messages.append(([], []))
            messages[-1][0].append(block)
        if post_id is not None:
            messages[-1][1].append(post_id)
    return [(blocks, tuple(ids)) for blocks, ids in messages if blocks]


def _fits(blocks: list[Block], block: Block) -> bool:
    if len(blocks) + 1 > MAX_BLOCKS:
        return False
    return _size(blocks) + _size([block]) <= MAX_MESSAGE_CHARS


def _size(blocks: Iterable[Block]) -> int:
    return len(json.dumps(list(blocks), ensure_ascii=False))


def _fallback(digest: Digest) -> str:
    """The plain `text` notifications show: the headline count and the first titles."""
    titles = [item.title for item in digest.items[:FALLBACK_TITLES]]
    more = len(digest.items) - len(titles)
    text = f"{digest.title}: " + "; ".join(titles) + (f"; and {more} more" if more > 0 else "")
    return escape(text)


def _preview(text: str) -> str:
    """Notification text within FALLBACK_LIMIT (the blocks carry the whole text)."""
    if len(text) <= FALLBACK_LIMIT:
        return text
    return text[: _outside_entity(text, FALLBACK_LIMIT - 1)] + "…"


def _message(blocks: list[Block], post_ids: tuple[int, ...], text: str) -> OutgoingMessage:
    return OutgoingMessage(post_ids=post_ids, payload={"blocks": blocks, "text": _preview(text)})


def answer_blocks(answer: Answer) -> list[Block]:
    blocks = sections(escape(answer.text))
    if answer.opinion:
        blocks += sections(f"> {escape(answer.opinion)}")
    if answer.citations:
        heading = "Source" if answer.grounded else "Closest posts"
        cited = ", ".join(
            f"{link(c.url, c.title)} ({_date(c.published)})" for c in answer.citations
        )
        credit = f"{heading}: {cited}"
        # A context element holds 3,000 characters; longer credits (huge titles) become sections.
        blocks += [footer_block(credit)] if len(credit) <= SECTION_LIMIT else sections(credit)
    return blocks


def hit_blocks(hits: Sequence[SearchHit]) -> list[Block]:
    lines = [
        f"*{link(h.post.url, h.post.title)}* ({_date(h.post.published)})\n{escape(h.snippet)}"
        for h in hits
    ]
    return sections("\n\n".join(lines))


def reply_messages(reply: Reply) -> list[dict[str, Any]]:
    """A command reply as message payloads (`blocks` + `text`), split like digests."""
    out: list[dict[str, Any]] = []
    if reply.text:
        text = escape(reply.text)
        if "\n  " in reply.text:  # help and status are aligned columns: keep them monospaced
            text = "\n".join(f"```{piece}```" for piece in split_text(text, SECTION_LIMIT - 6))
        out += _packed(sections(text), escape(reply.text.splitlines()[0]))
    if reply.answer is not None:
        lead: list[Block] = []
        if reply.question:  # an Ask form's question: the thread never saw it (escaped)
            who = f"<@{reply.asker}>" if _USER.fullmatch(reply.asker) else "Someone"
            lead = sections(f"{who} asked: “{escape(reply.question)}”")
        out += _packed([*lead, *answer_blocks(reply.answer)], escape(reply.answer.text))
    if reply.hits:
        out += _packed(hit_blocks(reply.hits), "Matching posts")
    if reply.briefing is not None:
        out += _packed(briefing_blocks(reply.briefing), escape(reply.briefing.title))
    if reply.digest is not None:
        out += [dict(m.payload) for m in digest_messages(reply.digest)]
    if reply.roundup is not None:
        out += [dict(m.payload) for m in roundup_messages(reply.roundup)]
    return out


def _packed(blocks: list[Block], text: str) -> list[dict[str, Any]]:
    return [{"blocks": part, "text": text[:SECTION_LIMIT]} for part, _ in _pack([(None, blocks)])]


def _roundup_post_line(post: RoundupPost) -> str:
    """One post of a roundup: its linked title and date; a long title or URL is written out."""
    title, date = escape(post.title), _date(post.published)
    if len(title) <= INLINE_TITLE and len(post.url) <= INLINE_URL:
        return f"• {link(post.url, post.title)} ({date})"
    where = link(post.url, "Read the post") if len(post.url) <= INLINE_URL else escape(post.url)
    return f"• {title} ({date})\n{where}"


def roundup_messages(roundup: Roundup) -> list[OutgoingMessage]:
    """The weekly roundup as one or more messages: a story's lines stay in one section where they
    fit, a story too long for one continues in more. The messages mark no post as sent: a
    roundup lists posts that digests already delivered."""
    heading = escape(roundup.heading)
    top = [header_block(roundup.heading)] if len(roundup.heading) <= HEADER_LIMIT else []
    top += [] if top else sections(f"*{heading}*")
    if roundup.empty:
        top += sections("Nothing was published in that time.")
        return [_message(blocks, (), heading) for blocks, _ in _pack([(None, top)])]
    groups: list[tuple[int | None, list[Block]]] = [(None, top)]
    for section in roundup.sections:
        if section.region:
            groups.append((None, [{"type": "divider"}, *sections(f"*{escape(section.region)}*")]))
        for story in section.stories:
            lines = [f"*{escape(story.heading)}*", *map(_roundup_post_line, story.posts)]
            groups.append((None, sections("\n".join(lines))))
    return [
        _message(blocks, (), heading if i == 0 else escape(f"{roundup.title} (continued)"))
        for i, (blocks, _) in enumerate(_pack(groups))
    ]


_USER = re.compile(r"[UW][A-Z0-9]+")  # a Slack user id, safe to write as a mention
ASK_CALLBACK = "briefbot_ask"  # the Ask form's callback_id (its view_submission listener)
RESUME_ACTION = "briefbot_resume"  # App Home's Resume button (value: the channel id)
RESUME_ROUNDUP = "roundup:"  # a Resume value's prefix for a paused weekly roundup
MAX_VIEW_BLOCKS = 100  # Slack's ceiling for a modal or a Home tab


def ask_modal(post_id: int, channel: str, thread: str, title: str) -> dict[str, Any]:
    """The Ask form: one text field. Where the answer goes (the channel and the digest message)
    rides in `private_metadata`, so any process can take the submission."""
    context = f"About: {escape(title)}"
    return {
        "type": "modal",
        "callback_id": ASK_CALLBACK,
        "title": {"type": "plain_text", "text": "Ask about this post"},
        "submit": {"type": "plain_text", "text": "Ask"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"post": post_id, "channel": channel, "thread": thread}),
        "blocks": [
            *(footer_block(p) for p in pieces(context, CONTEXT_LIMIT)),
            {
                "type": "input",
                "block_id": "question",
                "label": {"type": "plain_text", "text": "Your question"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "question",
                    "multiline": True,
                    "max_length": 500,
                },
            },
        ][: MAX_VIEW_BLOCKS - 1],
    }


def home_view(home: HomeView) -> dict[str, Any]:
    """The App Home tab: the channel overview (admins), the latest posts, a short help. A view
    holds 100 blocks: channels and posts that would not fit are counted, not drawn."""
    blocks: list[Block] = [header_block("briefbot")]
    tail = sections(escape(home.help)) if home.help else []
    if home.admin:
        blocks += sections(f"*Channels I deliver to in this workspace* ({len(home.channels)})")
        if not home.channels:
            blocks += sections("None yet: `/briefing subscribe` in a channel.")
        for shown, state in enumerate(home.channels):
            drawn = _channel_blocks(state)
            if len(blocks) + len(drawn) + len(tail) + 2 > MAX_VIEW_BLOCKS:
                more = len(home.channels) - shown
                blocks += footer_blocks(f"and {more} more channel(s): `/briefing status` there")
                break
            blocks += drawn
    if home.latest is not None and home.latest.items:
        blocks += [{"type": "divider"}, *sections("*Latest posts*")]
        for item in home.latest.items:
            drawn = item_blocks(item)
            if len(blocks) + len(drawn) + len(tail) + 1 > MAX_VIEW_BLOCKS:
                break
            blocks += drawn
    blocks += [{"type": "divider"}, *tail]
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


def _channel_blocks(state: ChannelState) -> list[Block]:
    tags = " or ".join(state.tags) if state.tags else "every post"
    last = state.last_delivery.strftime("%d %b %Y %H:%M UTC") if state.last_delivery else "none yet"
    lines = [
        f"*<#{escape(state.channel)}>* ({escape(state.kind)})",
        f"schedule: {escape(state.schedule)}; next: {escape(state.next_run)}",
        f"filters: {escape(tags)}",
        f"last delivery: {last}",
    ]
    if state.paused:
        lines.append(f"*PAUSED*: {escape(state.pause_reason or 'no reason recorded')}")
    blocks = sections("\n".join(lines))
    if state.paused:  # Resume runs `resume` (or `resume roundup`) there: the admin check included
        value = state.channel if state.kind == "digest" else f"{RESUME_ROUNDUP}{state.channel}"
        blocks.append(
            {
                "type": "actions",
                "block_id": f"resume-{value}"[:255],
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Resume"},
                        "style": "primary",
                        "action_id": RESUME_ACTION,
                        "value": value,
                    }
                ],
            }
        )
    return blocks
