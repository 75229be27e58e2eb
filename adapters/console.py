"""Terminal rendering of engine models: readable text for people, JSON for scripts.

Post text is sanitised again here (control and escape sequences removed) so nothing stored can drive
the terminal, whatever wrote it.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from briefings.models import Answer, Digest, DigestItem, IngestReport, Post, SearchHit
from briefings.roundup import Roundup
from briefings.tags import describe as describe_tags

_UNSAFE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text: str) -> str:
    return _UNSAFE.sub("", text)


def _width() -> int:
    return max(40, min(100, shutil.get_terminal_size((88, 24)).columns))


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "undated"


def _wrap(text: str, indent: str, width: int) -> str:
    return textwrap.fill(
        safe(text),
        width=width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
    )


def render_item(item: DigestItem, number: int, width: int) -> str:
    lines = [safe(f"{number}. {item.title}"), f"   {_date(item.published)} · {safe(item.url)}"]
    if item.follows_up_title:
        lines.append(
            _wrap(f"Follows up on: {item.follows_up_title} ({item.follows_up_url})", "   ", width)
        )
    if item.summary:
        lines.append(_wrap(item.summary, "   ", width))
    if item.take:
        lines.append(
            _wrap(f"{item.take_label or 'Take'} (the post's view): {item.take}", "   ", width)
        )
    if item.sources:
        lines.append(f"   Sources: {safe(', '.join(item.sources))}")
    topics = describe_tags(item.tags)
    if topics:
        lines.append(_wrap(f"Topics: {topics}", "   ", width))
    return "\n".join(lines)


def render_digest(digest: Digest, width: int | None = None) -> str:
    width = width or _width()
    if digest.empty and digest.first:
        text = "No posts yet: the sources have given none so far."
    elif digest.empty:
        text = "No new posts since your last briefing."
    else:
        header = f"{digest.title} · {digest.generated_at:%Y-%m-%d %H:%M} UTC · {len(digest.items)} post(s)"
        body = "\n\n".join(render_item(item, i, width) for i, item in enumerate(digest.items, 1))
        text = f"{header}\n{'=' * min(width, len(header))}\n\n{body}"
    if digest.notes:
        text += "\n\n" + "\n".join(f"({safe(note)})" for note in digest.notes)
    return text


def digest_to_json(digest: Digest) -> dict[str, Any]:
    return {
        "items": [
            {
                "url": item.url,
                "title": item.title,
                "published": item.published.isoformat() if item.published else None,
                "summary": item.summary,
                "take": item.take,
                "take_label": item.take_label,
                "sources": list(item.sources),
                "tags": list(item.tags),
            }
            for item in digest.items
        ],
        "notes": list(digest.notes),
    }


def render_posts(posts: Sequence[Post]) -> str:
    if not posts:
        return "No posts stored yet. Run `briefbot ingest`."
    rows = []
    for post in posts:
        flag = " (edited)" if post.edited else ""
        rows.append(
            f"{post.id:>6}  {_date(post.published)}  {safe(post.title)}{flag}\n        {safe(post.url)}"
        )
    return "\n".join(rows)


def posts_to_json(posts: Sequence[Post]) -> list[dict[str, Any]]:
    return [
        {
            "id": p.id,
            "url": p.url,
            "title": p.title,
            "published": p.published.isoformat() if p.published else None,
            "category": p.category,
            "take_label": p.take_label,
            "sources": list(p.attributions),
            "edited": p.edited,
            "tags": list(p.tags),
        }
        for p in posts
    ]


def render_reports(reports: Sequence[IngestReport]) -> str:
    lines = []
    for r in reports:
        if r.error:
            lines.append(f"{r.source}: FAILED: {safe(r.error)}")
        elif r.not_modified:
            lines.append(f"{r.source}: not modified since last poll")
        else:
            lines.append(
                f"{r.source}: {r.entries} item(s): {r.new} new, {r.updated} updated, "
                f"{r.unchanged} unchanged" + (f", {r.skipped} skipped" if r.skipped else "")
            )
        lines.extend(f"  warning: {safe(w)}" for w in r.warnings)
    return "\n".join(lines)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def answer_text(answer: Answer) -> str:
    """The answer as one string: the facts, then the post's own view, labelled."""
    return "\n\n".join(part for part in (answer.text, answer.opinion) if part)


def answer_to_json(answer: Answer) -> dict[str, Any]:
    return {
        "answer": answer_text(answer),
        "grounded": answer.grounded,
        "citations": [
            {
                "url": c.url,
                "title": c.title,
                "published": c.published.isoformat() if c.published else None,
            }
            for c in answer.citations
        ],
    }


def render_answer(answer: Answer, width: int | None = None) -> str:
    width = width or _width()
    # A quote per line (an answer over several posts): each wrapped on its own, never run on.
    lines = [_wrap(line, "", width) for line in answer.text.splitlines() if line.strip()]
    if answer.opinion:
        lines.append(_wrap(answer.opinion, "", width))
    if answer.citations:
        heading = "Source:" if answer.grounded else "Closest posts:"
        if answer.grounded and len(answer.citations) > 1:
            heading = "Sources:"
        lines.append(heading)
        lines.extend(
            f"  - {safe(c.title)} ({_date(c.published)}) {safe(c.url)}" for c in answer.citations
        )
    return "\n".join(lines)


def render_hits(hits: list[SearchHit], width: int | None = None) -> str:
    if not hits:
        return "No matching posts."
    width = width or _width()
    out = []
    for number, hit in enumerate(hits, 1):
        out.append(
            f"{number}. {safe(hit.post.title)} ({_date(hit.post.published)}) {safe(hit.post.url)}"
        )
        out.append(_wrap(hit.snippet, "   ", width))
    return "\n".join(out)


def hits_to_json(hits: list[SearchHit]) -> list[dict[str, Any]]:
    return [
        {
            "url": h.post.url,
            "title": h.post.title,
            "published": h.post.published.isoformat() if h.post.published else None,
            "score": h.score,
            "snippet": h.snippet,
            "tags": list(h.post.tags),
        }
        for h in hits
    ]


def render_roundup(roundup: Roundup) -> str:
    """The weekly roundup for the terminal: each story's heading, then one line per post."""
    if roundup.empty:
        return f"{safe(roundup.heading)}\nNothing was published in that time."
    lines = [safe(roundup.heading), "=" * min(_width(), len(roundup.heading))]
    for section in roundup.sections:
        if section.region:
            lines += ["", f"## {safe(section.region)}"]
        for story in section.stories:
            lines += ["", safe(story.heading)]
            lines += [
                f"  - {safe(p.title)} ({_date(p.published)}) {safe(p.url)}" for p in story.posts
            ]
    return "\n".join(lines)


def roundup_to_json(roundup: Roundup) -> dict[str, Any]:
    return {
        "since": roundup.since.isoformat(),
        "until": roundup.until.isoformat(),
        "sections": [
            {
                "region": section.region,
                "stories": [
                    {
                        "label": story.label,
                        "grouped": story.grouped,
                        "posts": [
                            {
                                "url": p.url,
                                "title": p.title,
                                "published": p.published.isoformat() if p.published else None,
                            }
                            for p in story.posts
                        ],
                    }
                    for story in section.stories
                ],
            }
            for section in roundup.sections
        ],
    }
