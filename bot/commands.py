"""The platform-neutral command set behind `/briefing` on every platform and the terminal prompt.

Adapters parse their platform's event into an `Invocation` and render the `Reply`; everything that is
decided (who may do what, what a schedule means, what a channel receives) is decided here, with the
admin check made on every call, never cached. Each command is declared once, with `@command` on its
handler (briefings/registry.py): help, parsing, the admin check, reply privacy and the Discord tree
all come from those declarations.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from adapters.contract import Caller, ChannelState, HomeView, Invocation, ItemAction, Reply
from bot.config import Settings
from bot.delivery import Deliverer
from bot.home import HOME_HELP, HOME_ITEMS, in_workspace
from bot.item_actions import ItemActions
from bot.roundup_store import RoundupSubscription
from bot.schedules import ROUNDUP_WEEKLY, SCHEDULE_EXAMPLES, ScheduleError, parse_schedule
from bot.tasks import log_failure
from bot.topics import TOPIC_DAYS, recent_topics
from bot.votes import VoteStore
from briefings.engine import BriefingEngine
from briefings.models import Subscription
from briefings.question import is_blank_question, without_mentions
from briefings.registry import (
    ROUNDUP_WORD,
    Arg,
    ArgKind,
    CommandSpec,
    Parsed,
    Registry,
    UnknownCommand,
    UsageError,
    command,
)
from briefings.roundup import build_roundup
from briefings.store import Store, db
from briefings.tags import TAG_EXAMPLES, TagError, parse_tag, parse_tags

log = logging.getLogger(__name__)

ScheduleListener = Callable[[Subscription], Awaitable[None] | None]

GROUPS = {"schedule": "When this channel gets digests"}
ROUNDUP_DAYS = 7
FOOTER = "In a digest's thread, any message is a question about that digest's posts."
# `briefbot` command-line commands that are no chat command, and the chat command to try instead:
# typed alone at the prompt ("posts", "posts --limit 3"), it is a habit from the shell, not a question.
CLI_ONLY = {
    "posts": "latest",
    "digest": "latest",
    "roundup": "preview roundup",
    "doctor": "status",
    "ingest": "status",
    "tags": "topics",
    "run": "help",
    "reindex": "help",
    "summarize": "help",
}


def _command_line_hint(line: str) -> str | None:
    """The hint for a line typed as in a shell: a command-line-only command alone or with `--`
    options (`posts --limit 3`), or a line starting `briefbot COMMAND`. Other words after such a
    command ("posts about Chile?") make a question, so they get no hint (None)."""
    words = line.lower().split()
    if len(words) > 1 and words[0] == "briefbot":
        words = words[1:]
        if REGISTRY.get(words[0]) is not None or words[0] in REGISTRY.groups:
            return (
                f"`briefbot {words[0]}` is the command line; here type `{words[0]}` without "
                "`briefbot`, or ask a question."
            )
    elif len(words) > 1 and not words[1].startswith("--"):
        return None
    if words and words[0] in CLI_ONLY:
        return (
            f"`{words[0]}` is a command of the `briefbot` command line; "
            f"here try `{CLI_ONLY[words[0]]}`, or ask a question."
        )
    return None


def refusal(text: str) -> Reply:
    return Reply(text=text, ephemeral=True, ok=False)


class CommandSet:
    def __init__(
        self,
        store: Store,
        engine: BriefingEngine,
        deliverer: Deliverer,
        settings: Settings,
        *,
        on_schedule_change: ScheduleListener | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.deliverer = deliverer
        self.outbox = deliverer.outbox
        self.subscriptions = deliverer.subscriptions
        self.settings = settings
        self.source_names = tuple(s.name for s in settings.sources)
        self.on_schedule_change = on_schedule_change
        self.items = ItemActions(
            store, engine, VoteStore(store.engine), self.handle, deliverer.clock
        )

    @property
    def registry(self) -> Registry:
        return REGISTRY

    async def is_digest_thread(self, platform: str, channel: str, message_id: str) -> bool:
        return await db(self.outbox.is_delivered_message, platform, channel, message_id)

    async def act(self, action: ItemAction) -> Reply:
        """A digest item's button (bot/item_actions.py); never raises."""
        try:
            return await self.items.act(action)
        except Exception as exc:
            log_failure(log, exc, f"button {action.action!r} from {action.caller.platform}")
            return refusal("Something went wrong on our side; the error is logged. Try again soon.")

    async def ask_title(self, post_id: int) -> str | None:
        post = await db(self.store.post, post_id)
        return None if post is None else post.title

    async def home(self, caller: Caller, workspace: str) -> HomeView:
        """The bot's home (bot/home.py): the channel overview only for admins, checked now."""
        posts = await db(self.store.latest_posts, HOME_ITEMS)
        latest = await self.engine.digest_of(posts) if posts else None
        if not self.is_admin(caller):
            return HomeView(admin=False, latest=latest, help=HOME_HELP)
        subs = await db(self.outbox.subscriptions)
        states = []
        for sub in in_workspace(subs, caller.platform, workspace):
            last = await db(self.outbox.last_delivery, sub.id)
            states.append(
                ChannelState(
                    channel=sub.channel,
                    schedule=self.deliverer.schedule_of(sub).describe(),
                    tags=sub.tags,
                    last_delivery=last.sent_at if last else None,
                    next_run=self._when(sub),
                    paused=sub.paused,
                    pause_reason=sub.pause_reason,
                )
            )
        roundups = self.deliverer.roundups
        for roundup in await db(roundups.roundups.active, caller.platform):
            if roundup.workspace not in ("", workspace):
                continue
            states.append(
                ChannelState(
                    channel=roundup.channel,
                    schedule=roundups.schedule_of(roundup).describe(),
                    tags=(),
                    last_delivery=await db(roundups.roundups.last_sent, roundup.id),
                    next_run="paused"
                    if roundup.paused
                    else self._roundup_line(roundup).split("; next ", 1)[-1],
                    paused=roundup.paused,
                    pause_reason=roundup.pause_reason,
                    kind="weekly roundup",
                )
            )
        return HomeView(admin=True, channels=tuple(states), latest=latest, help=HOME_HELP)

    def is_admin(self, caller: Caller) -> bool:
        return (
            caller.is_admin
            or f"{caller.platform}:{caller.user_id}" in self.settings.commands.admins
        )

    async def handle(self, inv: Invocation) -> Reply:
        """Run one command; never raises for bad input (the reply says what was wrong)."""
        try:
            parsed = self._parse(inv)
        except UnknownCommand as exc:
            return refusal(f"{exc}\n{HELP}")
        except UsageError as exc:
            return refusal(str(exc))
        return await self._run(inv, parsed)

    def _parse(self, inv: Invocation) -> Parsed:
        if inv.question:
            return Parsed(ASK, {"question": inv.text})
        if inv.args is not None:  # typed by the platform (Discord): `text` is the command's name
            spec = REGISTRY.get(inv.text.strip().lower())
            if spec is None:
                raise UnknownCommand(f"Unknown command {inv.text!r}.")
            return Parsed(spec, {k: v for k, v in inv.args.items() if v is not None})
        if not inv.text.strip():
            return Parsed(HELP_COMMAND, {})
        parsed = REGISTRY.parse(inv.text)
        if parsed is not None:
            return parsed
        hint = _command_line_hint(inv.text)
        if hint is not None:
            raise UsageError(hint)
        # Not a command word: a question, as people type them at a prompt or after /briefing.
        return Parsed(ASK, {"question": inv.text})

    async def _run(self, inv: Invocation, parsed: Parsed) -> Reply:
        spec = parsed.spec
        if spec.admin and not self.is_admin(inv.caller):
            log.info(
                "refused %r from non-admin %s:%s",
                spec.name,
                inv.caller.platform,
                inv.caller.user_id,
            )
            return refusal(
                f"Only admins can use `{spec.name}`: workspace or server admins, or people listed "
                "in the bot's config. Ask one of them."
            )
        try:
            handler: Callable[..., Awaitable[Reply]] = getattr(self, spec.handler)
            reply = await handler(inv, **parsed.args)
            if spec.admin and reply.ok:  # admin commands change the channel: tell the scheduler
                await self._changed(inv)
        except Exception as exc:
            log_failure(log, exc, f"command {spec.name!r} from {inv.caller.platform}")
            return refusal("Something went wrong on our side; the error is logged. Try again soon.")
        return replace(reply, ephemeral=spec.private or not reply.ok)

    # -- reading (help lists the commands in the order they are defined here) ---------------------

    @command("latest", private=True)
    async def _latest(self, inv: Invocation) -> Reply:
        """The newest posts as a digest, now"""
        sub = await db(self.outbox.subscription, inv.caller.platform, inv.channel)
        sources = sub.sources if sub else ()
        posts = await db(self.store.latest_posts, self.settings.digest.max_items, sources=sources)
        if not posts:
            return Reply(text="No posts stored yet; the feeds have not been fetched.")
        return Reply(digest=await self.engine.digest_of(posts))

    @command("ask", args=(Arg("question", ArgKind.REST, "What you want to know"),))
    async def _ask(self, inv: Invocation, question: str = "") -> Reply:
        """An answer from the posts, with the post it came from"""
        if is_blank_question(question):  # blank, or only pings and marks (@everyone ?)
            return refusal("Ask a question, e.g. `ask what did the post say about tariffs?`")
        await self.engine.sync_index()
        thread_posts = await db(
            self.outbox.posts_in_message, inv.caller.platform, inv.channel, inv.thread
        )
        try:
            answer = await self.engine.answer(
                question,
                context_ids=(*inv.context_post_ids, *thread_posts),
                context_urls=inv.context_urls,
                history=inv.context_questions,
            )
        except TagError as exc:
            return refusal(str(exc))
        return Reply(answer=answer)

    @command(
        "search", args=(Arg("words", ArgKind.REST, "Words to look for in the posts"),), private=True
    )
    async def _search(self, inv: Invocation, words: str = "") -> Reply:
        """Posts matching the words, best first"""
        if is_blank_question(words):  # blank, or only pings and marks (`search @everyone`)
            return refusal("Search for some words, e.g. `search ceasefire`")
        await self.engine.sync_index()
        try:
            hits = await self.engine.search(words, limit=5)
        except TagError as exc:
            return refusal(str(exc))
        if not hits:
            return Reply(text=f"No posts match {without_mentions(words)!r}.")
        return Reply(hits=tuple(hits))

    @command(
        "preview",
        args=(Arg("kind", ArgKind.WORD, "roundup: the last 7 days' posts grouped into stories"),),
        private=True,
    )
    async def _preview(self, inv: Invocation, kind: str | None = None) -> Reply:
        """Exactly what this channel's next digest would post (`preview roundup`: the week's stories)"""
        sub = await db(self.outbox.subscription, inv.caller.platform, inv.channel)
        if kind:
            if kind.lower() != "roundup":
                return refusal(f"Unknown preview {kind!r}: try `preview` or `preview roundup`.")
            return await self._preview_roundup(sub)
        if sub is None or not sub.active:
            return Reply(text="This channel is not subscribed; nothing is scheduled.")
        digest = await self.deliverer.preview(sub)
        when = self._when(sub)
        only = f" (only posts tagged {' or '.join(sub.tags)})" if sub.tags else ""
        if digest.empty and sub.skip_empty:
            return Reply(text=f"Nothing new{only}: the next digest ({when}) would be skipped.")
        return Reply(text=f"Preview of the digest due {when}{only}:", digest=digest)

    @command("topics", private=True)
    async def _topics(self, inv: Invocation) -> Reply:
        """Tags of the last 30 days' posts, with counts (for subscribe and tag: searches)"""
        counts = await db(recent_topics, self.store, self.deliverer.clock())
        if not counts:
            return Reply(text=f"No posts in the last {TOPIC_DAYS} days.")
        lines = [f"Tags of the last {TOPIC_DAYS} days' posts:"]
        for kind in ("country", "region", "org", "category"):
            found = [f"{t} ({n})" for t, n in counts if t.startswith(f"{kind}:")]
            if found:
                lines.append(f"  {', '.join(found)}")
        lines.append("Follow some with `subscribe TAG ...`; search within one with `tag:TAG`.")
        return Reply(text="\n".join(lines))

    async def _preview_roundup(self, sub: Subscription | None) -> Reply:
        """The last seven days' posts of this channel's sources (all when not subscribed)."""
        until = self.deliverer.clock()
        since = until - timedelta(days=ROUNDUP_DAYS)
        sources = sub.sources if sub is not None and sub.active else ()
        posts = await db(self.store.posts_between, since, until, sources=sources)
        return Reply(roundup=build_roundup(posts, since, until))

    @command("status", private=True)
    async def _status(self, inv: Invocation) -> Reply:
        """Feeds (last fetch, last error); this channel's schedule and topic filters"""
        lines = ["Feeds:"]
        states = {s.name: s for s in await db(self.store.source_states)}
        for name in self.source_names:
            state = states.get(name)
            if state is None or state.last_attempt_at is None:
                lines.append(f"  {name}: not fetched yet")
                continue
            ok = _stamp(state.last_success_at) if state.last_success_at else "never"
            line = f"  {name}: last fetched {_stamp(state.last_attempt_at)}, last success {ok}"
            if state.last_error:
                line += f"; last error: {state.last_error}"
            lines.append(line)
        lines.append(f"Posts stored: {await db(self.store.count_posts)}")
        lines.append("This channel:")
        lines.extend(f"  {line}" for line in await self._channel_lines(inv))
        roundup = await db(
            self.deliverer.roundups.roundups.subscription, inv.caller.platform, inv.channel
        )
        if roundup is not None:
            lines.append(f"  {self._roundup_line(roundup)}")
        if self.is_admin(inv.caller):  # checked on every call, like the admin commands
            votes = await self.items.week_lines(inv.caller.platform, inv.channel)
            lines.extend(f"  {line}" for line in votes)
        return Reply(text="\n".join(lines))

    @command("schedule show", private=True, group_default=True)
    async def _schedule_show(self, inv: Invocation) -> Reply:
        """This channel's schedule and next run"""
        return Reply(text="\n".join(await self._channel_lines(inv)))

    async def _channel_lines(self, inv: Invocation) -> list[str]:
        sub = await db(self.outbox.subscription, inv.caller.platform, inv.channel)
        if sub is None or not sub.active:
            default = f"{self.settings.schedule.when} ({self.settings.schedule.timezone})"
            return [f"not subscribed (the default schedule is {default})"]
        schedule = self.deliverer.schedule_of(sub)
        kind = "" if sub.schedule else " (the default)"
        lines = [
            f"sources: {', '.join(sub.sources) if sub.sources else 'all'}",
            f"tags: {' or '.join(sub.tags) if sub.tags else 'any (every post)'}",
            f"schedule: {schedule.describe()}{kind}; "
            + (
                "no message when nothing is new"
                if sub.skip_empty
                else "posts even when nothing is new"
            ),
            f"next run: {self._when(sub)}",
        ]
        last = await db(self.outbox.last_delivery, sub.id)
        lines.append(
            f"last delivery: {_stamp(last.sent_at) if last and last.sent_at else 'none yet'}"
        )
        rejected = await db(self.outbox.last_failure, sub.id)
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

    def _roundup_line(self, roundup: RoundupSubscription) -> str:
        schedule = self.deliverer.roundups.schedule_of(roundup)
        when = (
            roundup.next_run_at.astimezone(schedule.zone).strftime("%a %d %b %Y %H:%M %Z")
            if roundup.next_run_at
            else "not scheduled"
        )
        paused = f"; PAUSED: {roundup.pause_reason}" if roundup.paused else ""
        return f"weekly roundup: {schedule.describe()}; next {when}{paused}"

    def _when(self, sub: Subscription) -> str:
        if sub.paused:
            return "paused"
        if sub.next_run_at is None:
            return "not scheduled"
        zone = self.deliverer.schedule_of(sub).zone
        return sub.next_run_at.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")

    # -- admin ----------------------------------------------------------------------------------

    @command(
        "subscribe",
        args=(
            Arg("source", ArgKind.WORD, "One source to add (default: all of them)"),
            Arg("tags", ArgKind.TAGS, f"Only posts with any of these tags, e.g. {TAG_EXAMPLES}"),
        ),
        admin=True,
    )
    async def _subscribe(
        self, inv: Invocation, source: str | None = None, tags: str | None = None
    ) -> Reply:
        """Send digests here (all sources, or one); with tags, only posts with any of them"""
        sub = await db(self.outbox.subscription, inv.caller.platform, inv.channel)
        words = [*(source or "").split(), *(tags or "").split()]
        names = [w for w in words if ":" not in w]
        if len(names) > 1:
            return refusal(f"Name one source at a time; tags look like {TAG_EXAMPLES}.")
        try:
            following = sub.tags if sub and sub.active else ()
            wanted = parse_tags((w for w in words if ":" in w), following)
        except TagError as exc:
            return refusal(str(exc))
        source = names[0] if names else None
        sources: tuple[str, ...] = ()
        if source:
            name = source.lower()
            if name not in self.source_names:
                known = ", ".join(self.source_names)
                return refusal(f"No source named {source!r}. Sources: {known}.")
            current = sub.sources if sub and sub.active else (name,)
            sources = tuple(sorted({*current, name})) if current else ()
        draft = await db(
            self.subscriptions.save,
            inv.caller.platform,
            inv.channel,
            self.deliverer.clock(),
            workspace=inv.workspace,
            sources=sources,
            active=True,
            paused=False,
            pause_reason="",
            admin_user=inv.caller.user_id,
            tags=wanted,
        )
        what = ", ".join(draft.sources) if draft.sources else "all sources"
        if draft.tags:
            what += f" (only posts tagged {' or '.join(draft.tags)})"
        return Reply(
            text=f"This channel now gets digests of {what}, "
            f"{self.deliverer.schedule_of(draft).describe()}; next: {self._when(draft)}."
        )

    @command(
        "unsubscribe",
        args=(
            Arg(
                "source", ArgKind.WORD, "One source or tag to stop (default: all digests and tags)"
            ),
        ),
        admin=True,
    )
    async def _unsubscribe(self, inv: Invocation, source: str | None = None) -> Reply:
        """Stop digests here and clear topic filters, or one source, tag or the weekly `roundup`"""
        if source and source.lower() == ROUNDUP_WORD:
            stopped = await db(
                self.deliverer.roundups.roundups.stop,
                inv.caller.platform,
                inv.channel,
                self.deliverer.clock(),
            )
            if not stopped:
                return refusal("This channel gets no weekly roundup.")
            return Reply(text="Stopped the weekly roundup here; digests are unchanged.")
        sub = await db(self.outbox.subscription, inv.caller.platform, inv.channel)
        if sub is None or not sub.active:
            return refusal("This channel is not subscribed.")
        if source and ":" in source:
            return await self._drop_tag(inv, sub, source)
        if source:
            name = source.lower()
            current = sub.sources or self.source_names
            if name not in current:
                return refusal(f"This channel does not get {source!r}.")
            rest = tuple(s for s in current if s != name)
            if rest:
                await db(
                    self.subscriptions.save,
                    inv.caller.platform,
                    inv.channel,
                    self.deliverer.clock(),
                    sources=rest,
                    admin_user=inv.caller.user_id,
                )
                return Reply(text=f"Stopped {name}; this channel still gets {', '.join(rest)}.")
        await db(
            self.subscriptions.save,
            inv.caller.platform,
            inv.channel,
            self.deliverer.clock(),
            active=False,
            tags=(),
            admin_user=inv.caller.user_id,
        )
        return Reply(text="This channel will get no more digests. `subscribe` starts them again.")

    @command(
        "resume",
        args=(Arg("kind", ArgKind.WORD, "roundup: resume the weekly roundup, not the digests"),),
        admin=True,
    )
    async def _resume(self, inv: Invocation, kind: str | None = None) -> Reply:
        """Resume this channel's paused digests (or its paused weekly `roundup`), unchanged"""
        now = self.deliverer.clock()
        if kind and kind.lower() == ROUNDUP_WORD:
            roundups = self.deliverer.roundups
            roundup = await db(roundups.roundups.subscription, inv.caller.platform, inv.channel)
            if roundup is None:
                return refusal("This channel gets no weekly roundup: nothing to resume.")
            if not roundup.paused:
                return Reply(
                    text=f"The weekly roundup here is not paused; {self._roundup_line(roundup)}."
                )
            schedule = roundups.schedule_of(roundup)
            resumed = await db(
                roundups.roundups.save,
                inv.caller.platform,
                inv.channel,
                schedule=roundup.schedule,
                timezone=roundup.timezone,
                next_run_at=schedule.next_fire(now),
                now=now,
                sources=roundup.sources,
                admin_user=inv.caller.user_id,
            )
            return Reply(text=f"Resumed the {self._roundup_line(resumed)}.")
        if kind:
            return refusal(f"Unknown {kind!r}: try `resume` or `resume roundup`.")
        sub = await db(self.outbox.subscription, inv.caller.platform, inv.channel)
        if sub is None or not sub.active:
            return refusal(
                "This channel is not subscribed: nothing to resume (`subscribe` starts digests)."
            )
        if not sub.paused:
            return Reply(text=f"Digests here are not paused; next: {self._when(sub)}.")
        digests = await db(
            self.subscriptions.save,
            inv.caller.platform,
            inv.channel,
            now,
            paused=False,
            pause_reason="",
            admin_user=inv.caller.user_id,
        )
        return Reply(text=f"Resumed the digests here; next: {self._when(digests)}.")

    async def _drop_tag(self, inv: Invocation, sub: Subscription, raw: str) -> Reply:
        try:
            tag = parse_tag(raw)
        except TagError as exc:
            return refusal(str(exc))
        if tag not in sub.tags:
            following = ", ".join(sub.tags) or "no tags (every post)"
            return refusal(f"This channel does not follow {tag}; it follows {following}.")
        rest = tuple(t for t in sub.tags if t != tag)
        await db(
            self.outbox.save_subscription,
            inv.caller.platform,
            inv.channel,
            tags=rest,
            admin_user=inv.caller.user_id,
        )
        if not rest:
            return Reply(
                text=f"Stopped following {tag}; no topic filters left: "
                "this channel now gets every post."
            )
        return Reply(
            text=f"Stopped following {tag}; this channel now gets only posts tagged "
            f"{' or '.join(rest)}."
        )

    @command(
        "schedule set",
        args=(
            Arg("when", ArgKind.SCHEDULE, f"e.g. {SCHEDULE_EXAMPLES}"),
            Arg(
                "timezone", ArgKind.ZONE, "IANA time zone, e.g. Europe/London (default: the bot's)"
            ),
        ),
        admin=True,
    )
    async def _schedule_set(
        self, inv: Invocation, when: str = "", timezone: str | None = None
    ) -> Reply:
        """When: daily 08:00, weekdays 07:30, mon,thu 09:00, hourly or cron; zone e.g. Europe/London"""
        defaults = self.settings.schedule
        when = when.strip()
        words = when.split()
        if words and words[-1].lower() == ROUNDUP_WORD:  # the channel's weekly roundup
            return await self._roundup_set(inv, " ".join(words[:-1]), timezone)
        zone = (timezone or "").strip() if when else ""
        try:
            schedule = parse_schedule(when or defaults.when, zone or defaults.timezone)
        except ScheduleError as exc:
            return refusal(str(exc))
        draft = await db(
            self.subscriptions.save,
            inv.caller.platform,
            inv.channel,
            self.deliverer.clock(),
            reschedule=True,
            workspace=inv.workspace,
            schedule=schedule.when if when else "",
            timezone=schedule.timezone if when else "",
            admin_user=inv.caller.user_id,
        )
        text = f"Schedule: {schedule.describe()}" + ("" if when else " (the default)")
        if draft.active:
            text += f"; next digest {self._when(draft)}."
        else:
            text += ". This channel is not subscribed yet: `subscribe` starts the digests."
        return Reply(text=text)

    async def _roundup_set(self, inv: Invocation, when: str, timezone: str | None) -> Reply:
        """`schedule set weekly mon 08:00 roundup`: the week's stories here on that schedule,
        beside (not instead of) the channel's digests."""
        if not when:
            return refusal("Say when, e.g. `schedule set weekly mon 08:00 roundup`.")
        zone = (timezone or "").strip() or self.settings.schedule.timezone
        try:
            schedule = parse_schedule(when, zone)
        except ScheduleError as exc:
            return refusal(str(exc))
        if not schedule.at_most_weekly():
            return refusal(ROUNDUP_WEEKLY)
        now = self.deliverer.clock()
        digest = await db(self.outbox.subscription, inv.caller.platform, inv.channel)
        roundup = await db(
            self.deliverer.roundups.roundups.save,
            inv.caller.platform,
            inv.channel,
            schedule=schedule.when,
            timezone=schedule.timezone,
            next_run_at=schedule.next_fire(now),
            now=now,
            sources=digest.sources if digest is not None and digest.active else (),
            workspace=inv.workspace,
            admin_user=inv.caller.user_id,
        )
        when_next = (
            roundup.next_run_at.astimezone(schedule.zone).strftime("%a %d %b %Y %H:%M %Z")
            if roundup.next_run_at
            else "never"
        )
        return Reply(
            text=f"Weekly roundup: {schedule.describe()}; next {when_next}. "
            "`unsubscribe roundup` stops it."
        )

    @command("schedule clear", admin=True)
    async def _schedule_clear(self, inv: Invocation) -> Reply:
        """Back to the default schedule"""
        return await self._schedule_set(inv)

    @command(
        "schedule skip-empty",
        args=(Arg("on", ArgKind.SWITCH, "on: post nothing when nothing is new; off: say so"),),
        admin=True,
    )
    async def _skip_empty(self, inv: Invocation, on: bool) -> Reply:
        """On (the default): no message when nothing is new; off: a short 'nothing new' message"""
        await db(
            self.subscriptions.save,
            inv.caller.platform,
            inv.channel,
            self.deliverer.clock(),
            skip_empty=on,
            admin_user=inv.caller.user_id,
        )
        return Reply(
            text="No digest will be posted when nothing is new."
            if on
            else "A short 'nothing new' message will be posted when nothing is new."
        )

    @command("help", private=True, aliases=("?",))
    async def _help(self, inv: Invocation) -> Reply:
        """This list"""
        return Reply(text=HELP)

    async def _changed(self, inv: Invocation) -> None:
        sub = await db(self.outbox.subscription, inv.caller.platform, inv.channel)
        if sub is not None and self.on_schedule_change is not None:
            result = self.on_schedule_change(sub)
            if result is not None:
                await result


REGISTRY = Registry.of(CommandSet, GROUPS)
HELP = REGISTRY.help_text(FOOTER)


def _command(name: str) -> CommandSpec:
    spec = REGISTRY.get(name)
    if spec is None:
        raise LookupError(f"the command set declares no {name!r}")
    return spec


ASK = _command("ask")  # what a question runs
HELP_COMMAND = _command("help")  # what an empty line runs


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"
