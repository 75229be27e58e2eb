"""What a digest item's buttons do, whatever the platform: More (the post's fuller briefing, for the
clicker only), Ask (an answer about the post, for the digest's thread, citing it) and 👍/👎 (a vote,
stored, shown to nobody). Adapters acknowledge the click within the platform's 3 s first and render
the `Reply` after; a click on a post deleted since the digest went out gets a clear message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from adapters.contract import POST_GONE, Invocation, ItemAction, Reply
from bot.votes import CHANGED, RECORDED, VoteStore
from briefings.engine import BriefingEngine
from briefings.store import Store, db

GONE = POST_GONE
VOTE_DAYS = 7
_VOTE = {"up": (1, "👍"), "down": (-1, "👎")}


class ItemActions:
    def __init__(
        self,
        store: Store,
        engine: BriefingEngine,
        votes: VoteStore,
        ask: Callable[[Invocation], Awaitable[Reply]],
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.engine = engine
        self.votes = votes
        self.ask = ask
        self.clock = clock

    async def act(self, action: ItemAction) -> Reply:
        post = await db(self.store.post, action.post_id)
        if post is None:
            return Reply(text=GONE, ephemeral=True, ok=False)
        if action.action == "more":
            briefing = await self.engine.fuller_briefing(post.id)
            if briefing is None:
                return Reply(text=GONE, ephemeral=True, ok=False)
            return Reply(briefing=briefing, ephemeral=True)
        if action.action in _VOTE:
            value, mark = _VOTE[action.action]
            caller = action.caller
            result = await db(
                self.votes.vote,
                caller.platform,
                action.channel,
                post.id,
                caller.user_id,
                value,
                self.clock(),
            )
            if result == RECORDED:
                text = f"Thanks: your {mark} on “{post.title}” is counted."
            elif result == CHANGED:
                text = f"Your vote on “{post.title}” is now {mark}."
            else:
                text = f"Your {mark} on “{post.title}” is withdrawn."
            return Reply(text=text, ephemeral=True)
        if action.action == "ask":
            if not action.question.strip():
                return Reply(text="Type a question about the post.", ephemeral=True, ok=False)
            reply = await self.ask(
                Invocation(
                    caller=action.caller,
                    channel=action.channel,
                    text=action.question,
                    workspace=action.workspace,
                    context_post_ids=(post.id,),
                    thread=action.thread,
                    question=True,
                )
            )
            if not reply.ok:
                return replace(reply, ephemeral=True)
            return replace(
                reply,
                ephemeral=False,
                question=action.question.strip(),
                asker=action.caller.user_id,
            )
        return Reply(text=f"Unknown button {action.action!r}.", ephemeral=True, ok=False)

    async def week_lines(self, platform: str, channel: str) -> list[str]:
        """`status` for admins: this week's votes per post in the channel."""
        since = self.clock() - timedelta(days=VOTE_DAYS)
        counts = await db(self.votes.counts, platform, channel, since)
        if not counts:
            return [f"votes in the last {VOTE_DAYS} days: none"]
        titles = {
            p.id: p.title for p in await db(self.store.posts_by_ids, [c.post_id for c in counts])
        }
        lines = [f"votes in the last {VOTE_DAYS} days (👍 / 👎):"]
        for count in counts:
            title = titles.get(count.post_id, f"post {count.post_id} (removed)")
            lines.append(f"  {count.up} / {count.down}  {title}")
        return lines
