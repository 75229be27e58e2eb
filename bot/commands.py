"""The platform-neutral command set behind `/briefing` on every platform and the terminal prompt.

Adapters parse their platform's event into an `Invocation` and render the `Reply`; everything that is
decided (who may do what, what a schedule means, what a channel receives) is decided here, with the
admin check made on every call, never cached.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.delivery import Deliverer
from bot.schedules import SCHEDULE_EXAMPLES, ScheduleError, parse_schedule
from briefings.chat import Caller, Invocation, Reply
from briefings.engine import BriefingEngine
from briefings.models import Subscription
from briefings.store import Store

log = logging.getLogger(__name__)

ScheduleListener = Callable[[Subscription], Awaitable[None] | None]

HELP = f"""Commands:
  latest                      the newest posts as a digest, now
  ask <question>              an answer from the posts, with the post it came from
  search <words>              posts matching the words, best first
  preview                     exactly what this channel's next digest would post
  status                      feeds (last fetch, last error) and this channel's schedule
  subscribe [source]          (admin) send digests here; all sources unless one is named
  unsubscribe [source]        (admin) stop them, or stop one source
  schedule show               this channel's schedule and next run
  schedule set <when> [zone]  (admin) when: {SCHEDULE_EXAMPLES}; zone e.g. Europe/London
  schedule clear              (admin) back to the default schedule
  schedule skip-empty on|off  (admin) on: no message when nothing is new (the default)
  help                        this list
In a digest's thread, any message is a question about that digest's posts."""

ADMIN_COMMANDS = frozenset(
    {"subscribe", "unsubscribe", "schedule set", "schedule clear", "schedule skip-empty"}
)


@dataclass(frozen=True, slots=True)
class CommandSettings:
    admins: frozenset[str] = frozenset()  # "platform:user_id"
    source_names: tuple[str, ...] = ()


def refusal(text: str) -> Reply:
    return Reply(text=text, ephemeral=True, ok=False)


class CommandSet:
    def __init__(
        self,
        store: Store,
        engine: BriefingEngine,
        deliverer: Deliverer,
        settings: CommandSettings,
        *,
        on_schedule_change: ScheduleListener | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.deliverer = deliverer
        self.settings = settings
        self.on_schedule_change = on_schedule_change

    def is_digest_thread(self, platform: str, channel: str, message_id: str) -> bool:
        return self.store.is_delivered_message(platform, channel, message_id)

    def is_admin(self, caller: Caller) -> bool:
        return caller.is_admin or f"{caller.platform}:{caller.user_id}" in self.settings.admins

    async def handle(self, inv: Invocation) -> Reply:
        """Run one command; never raises for bad input (the reply says what was wrong)."""
        words = inv.text.split()
        if inv.question:
            return await self._ask(inv, inv.text)
        if not words:
            return Reply(text=HELP, ephemeral=True)
        name, args = words[0].lower(), words[1:]
        try:
            if name in ("help", "?"):
                return Reply(text=HELP, ephemeral=True)
            if name == "latest":
                return await self._latest(inv)
            if name == "ask":
                return await self._ask(inv, " ".join(args))
            if name == "search":
                return await self._search(" ".join(args))
            if name == "preview":
                return await self._preview(inv)
            if name == "status":
                return self._status(inv)
            if name in ("subscribe", "unsubscribe"):
                return await self._admin(inv, name, args)
            if name == "schedule":
                sub_name = args[0].lower() if args else "show"
                if sub_name == "show":
                    return self._schedule_show(inv)
                return await self._admin(inv, f"schedule {sub_name}", args[1:])
            # Not a command word: a question, as people type them at a prompt or after /briefing.
            return await self._ask(inv, inv.text)
        except Exception:
            log.exception("command %r from %s failed", name, inv.caller.platform)
            return refusal("Something went wrong on our side; the error is logged. Try again soon.")

    # -- reading --------------------------------------------------------------------------------

    async def _latest(self, inv: Invocation) -> Reply:
        sub = self.store.subscription(inv.caller.platform, inv.channel)
        sources = sub.sources if sub else ()
        posts = self.store.latest_posts(self.deliverer.settings.max_items, sources=sources)
        if not posts:
            return Reply(
                text="No posts stored yet; the feeds have not been fetched.", ephemeral=True
            )
        return Reply(digest=await self.engine.digest_of(posts), ephemeral=True)

    async def _ask(self, inv: Invocation, question: str) -> Reply:
        if not question.strip():
            return refusal("Ask a question, e.g. `ask what did the post say about tariffs?`")
        await self.engine.sync_index()
        thread_posts = self.store.posts_in_message(inv.caller.platform, inv.channel, inv.thread)
        answer = await self.engine.answer(
            question,
            context_ids=(*inv.context_post_ids, *thread_posts),
            context_urls=inv.context_urls,
        )
        return Reply(answer=answer)

    async def _search(self, query: str) -> Reply:
        if not query.strip():
            return refusal("Search for some words, e.g. `search ceasefire`")
        await self.engine.sync_index()
        hits = self.engine.search(query, limit=5)
        if not hits:
            return Reply(text=f"No posts match {query!r}.", ephemeral=True)
        return Reply(hits=tuple(hits), ephemeral=True)

    async def _preview(self, inv: Invocation) -> Reply:
        sub = self.store.subscription(inv.caller.platform, inv.channel)
        if sub is None or not sub.active:
            return Reply(
                text="This channel is not subscribed; nothing is scheduled.", ephemeral=True
            )
        digest = await self.deliverer.preview(sub)
        when = self._when(sub)
        if digest.empty and sub.skip_empty:
            return Reply(
                text=f"Nothing new: the next digest ({when}) would be skipped.", ephemeral=True
            )
        return Reply(text=f"Preview of the digest due {when}:", digest=digest, ephemeral=True)

    def _status(self, inv: Invocation) -> Reply:
        lines = ["Feeds:"]
        states = {s.name: s for s in self.store.source_states()}
        for name in self.settings.source_names:
            state = states.get(name)
            if state is None or state.last_attempt_at is None:
                lines.append(f"  {name}: not fetched yet")
                continue
            ok = _stamp(state.last_success_at) if state.last_success_at else "never"
            line = f"  {name}: last fetched {_stamp(state.last_attempt_at)}, last success {ok}"
            if state.last_error:
                line += f"; last error: {state.last_error}"
            lines.append(line)
        lines.append(f"Posts stored: {self.store.count_posts()}")
        lines.append("This channel:")
        lines.extend(f"  {line}" for line in self._channel_lines(inv))
        return Reply(text="\n".join(lines), ephemeral=True)

    def _schedule_show(self, inv: Invocation) -> Reply:
        return Reply(text="\n".join(self._channel_lines(inv)), ephemeral=True)

    def _channel_lines(self, inv: Invocation) -> list[str]:
        sub = self.store.subscription(inv.caller.platform, inv.channel)
        if sub is None or not sub.active:
            default = f"{self.deliverer.settings.default_when} ({self.deliverer.settings.default_timezone})"
            return [f"not subscribed (the default schedule is {default})"]
        schedule = self.deliverer.schedule_of(sub)
        kind = "" if sub.schedule else " (the default)"
        lines = [
            f"sources: {', '.join(sub.sources) if sub.sources else 'all'}",
            f"schedule: {schedule.describe()}{kind}; "
            + (
                "no message when nothing is new"
                if sub.skip_empty
                else "posts even when nothing is new"
            ),
            f"next run: {self._when(sub)}",
        ]
        last = self.store.last_delivery(sub.id)
        lines.append(
            f"last delivery: {_stamp(last.sent_at) if last and last.sent_at else 'none yet'}"
        )
        rejected = self.store.last_failure(sub.id)
        if rejected is not None and rejected.failed_at is not None:
            lines.append(
                f"last rejected message: {rejected.last_error} ({_stamp(rejected.failed_at)}); "
                "its posts were not delivered here"
            )
        if sub.paused:
            lines.append(f"PAUSED: {sub.pause_reason} (an admin can `subscribe` again to resume)")
        if sub.last_note:
            lines.append(f"note: {sub.last_note}")
        return lines

    def _when(self, sub: Subscription) -> str:
        if sub.paused:
            return "paused"
        if sub.next_run_at is None:
            return "not scheduled"
        zone = self.deliverer.schedule_of(sub).zone
        return sub.next_run_at.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")

    # -- admin ----------------------------------------------------------------------------------

    async def _admin(self, inv: Invocation, name: str, args: Sequence[str]) -> Reply:
        if name not in ADMIN_COMMANDS:
            return refusal(f"Unknown command {name!r}.\n{HELP}")
        if not self.is_admin(inv.caller):
            log.info(
                "refused %r from non-admin %s:%s", name, inv.caller.platform, inv.caller.user_id
            )
            return refusal(
                f"Only admins can use `{name}`: workspace or server admins, or people listed in "
                "the bot's config. Ask one of them."
            )
        if name == "subscribe":
            reply = self._subscribe(inv, args)
        elif name == "unsubscribe":
            reply = self._unsubscribe(inv, args)
        elif name == "schedule set":
            reply = self._schedule_set(inv, args)
        elif name == "schedule clear":
            reply = self._schedule_set(inv, [])
        else:
            reply = self._skip_empty(inv, args)
        if reply.ok:
            await self._changed(inv)
        return reply

    def _subscribe(self, inv: Invocation, args: Sequence[str]) -> Reply:
        if len(args) > 1:
            return refusal("Name at most one source, e.g. `subscribe irinfive`.")
        sub = self.store.subscription(inv.caller.platform, inv.channel)
        sources: tuple[str, ...] = ()
        if args:
            source = args[0].lower()
            if source not in self.settings.source_names:
                known = ", ".join(self.settings.source_names)
                return refusal(f"No source named {args[0]!r}. Sources: {known}.")
            current = sub.sources if sub and sub.active else (source,)
            sources = tuple(sorted({*current, source})) if current else ()
        now = self.deliverer.clock()
        draft = self.store.save_subscription(
            inv.caller.platform,
            inv.channel,
            workspace=inv.workspace,
            sources=sources,
            active=True,
            paused=False,
            pause_reason="",
            admin_user=inv.caller.user_id,
        )
        if sub is None or not sub.active or draft.next_run_at is None:
            draft = self.store.save_subscription(
                inv.caller.platform,
                inv.channel,
                next_run_at=self.deliverer.next_run_after(draft, now),
            )
        what = ", ".join(draft.sources) if draft.sources else "all sources"
        return Reply(
            text=f"This channel now gets digests of {what}, "
            f"{self.deliverer.schedule_of(draft).describe()}; next: {self._when(draft)}."
        )

    def _unsubscribe(self, inv: Invocation, args: Sequence[str]) -> Reply:
        sub = self.store.subscription(inv.caller.platform, inv.channel)
        if sub is None or not sub.active:
            return refusal("This channel is not subscribed.")
        if len(args) > 1:
            return refusal("Name at most one source, e.g. `unsubscribe irinfive`.")
        if args:
            source = args[0].lower()
            current = sub.sources or self.settings.source_names
            if source not in current:
                return refusal(f"This channel does not get {args[0]!r}.")
            rest = tuple(s for s in current if s != source)
            if rest:
                self.store.save_subscription(
                    inv.caller.platform, inv.channel, sources=rest, admin_user=inv.caller.user_id
                )
                return Reply(text=f"Stopped {source}; this channel still gets {', '.join(rest)}.")
        self.store.save_subscription(
            inv.caller.platform,
            inv.channel,
            active=False,
            next_run_at=None,
            admin_user=inv.caller.user_id,
        )
        return Reply(text="This channel will get no more digests. `subscribe` starts them again.")

    def _schedule_set(self, inv: Invocation, args: Sequence[str]) -> Reply:
        defaults = self.deliverer.settings
        if args:
            when, zone = _split_when_zone(args, defaults.default_timezone)
        else:
            when, zone = "", ""
        try:
            schedule = parse_schedule(
                when or defaults.default_when, zone or defaults.default_timezone
            )
        except ScheduleError as exc:
            return refusal(str(exc))
        draft = self.store.save_subscription(
            inv.caller.platform,
            inv.channel,
            workspace=inv.workspace,
            schedule=schedule.when if when else "",
            timezone=schedule.timezone if when else "",
            admin_user=inv.caller.user_id,
        )
        now = self.deliverer.clock()
        next_run = schedule.next_fire(now) if draft.active else None
        draft = self.store.save_subscription(inv.caller.platform, inv.channel, next_run_at=next_run)
        text = f"Schedule: {schedule.describe()}" + ("" if when else " (the default)")
        if draft.active:
            text += f"; next digest {self._when(draft)}."
        else:
            text += ". This channel is not subscribed yet: `subscribe` starts the digests."
        return Reply(text=text)

    def _skip_empty(self, inv: Invocation, args: Sequence[str]) -> Reply:
        if len(args) != 1 or args[0].lower() not in ("on", "off"):
            return refusal("Use `schedule skip-empty on` or `schedule skip-empty off`.")
        on = args[0].lower() == "on"
        self.store.save_subscription(
            inv.caller.platform, inv.channel, skip_empty=on, admin_user=inv.caller.user_id
        )
        return Reply(
            text="No digest will be posted when nothing is new."
            if on
            else "A short 'nothing new' message will be posted when nothing is new."
        )

    async def _changed(self, inv: Invocation) -> None:
        sub = self.store.subscription(inv.caller.platform, inv.channel)
        if sub is not None and self.on_schedule_change is not None:
            result = self.on_schedule_change(sub)
            if result is not None:
                await result


def _split_when_zone(args: Sequence[str], default_zone: str) -> tuple[str, str]:
    """`daily 08:00 Europe/London` -> ("daily 08:00", "Europe/London"); cron has five fields."""
    words = list(args)
    if words[0].lower() == "hourly":
        return "hourly", " ".join(words[1:])
    if len(words) in (5, 6) and not any(":" in w for w in words[:2]):
        return " ".join(words[:5]), " ".join(words[5:])
    return " ".join(words[:2]), " ".join(words[2:])


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"
