"""When a channel's digest is due: `daily 08:00`, `weekdays 07:30`, `mon,thu 09:00`, `hourly`, or a
5-field cron expression, in an IANA time zone.

Fire times are computed here rather than by APScheduler's CronTrigger, which (3.11) fires a daily job
twice on a fall-back day and reads cron's day-of-week numbers as Monday=0. The rules, as cron's: a
wall-clock time skipped by a spring-forward change fires at the moment the clocks jump to; a time that
occurs twice on a fall-back day fires once (the first), unless the hour field is `*`, where both hours
are real hours and both fire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from briefings.errors import BriefbotError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
SCHEDULE_EXAMPLES = (
    '"daily 08:00", "weekdays 07:30", "mon,thu 09:00", "hourly", or cron "30 7 * * 1-5"'
)
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_SEARCH_DAYS = 366 * 8  # long enough for "29 Feb on a Monday"


ROUNDUP_WEEKLY = (
    "A roundup is weekly: one day and one time, e.g. `schedule set weekly mon 08:00 roundup`."
)


class ScheduleError(BriefbotError, ValueError):
    """A schedule or time zone that cannot be used; the message shows a correct example."""


@dataclass(frozen=True, slots=True)
class Schedule:
    when: str  # as the admin wrote it, normalised
    timezone: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]  # of the month, 1-31
    months: frozenset[int]  # 1-12
    weekdays: frozenset[int]  # 0 = Monday
    any_hour: bool  # hour field was `*`: both copies of a repeated hour fire
    day_restricted: bool  # cron: day of month given (not `*`)
    weekday_restricted: bool  # cron: day of week given (not `*`)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> str:
        return f"{self.when} ({self.timezone})"

    def next_fire(self, after: datetime) -> datetime | None:
        """The first fire time strictly after `after` (aware), in UTC; None if it never fires."""
        zone = self.zone
        start = after.astimezone(zone).date() - timedelta(days=1)
        for offset in range(_SEARCH_DAYS):
            day = start + timedelta(days=offset)
            if not self._day_matches(day):
                continue
            for moment in self._fires_on(day, zone):
                if moment > after:
                    return moment
        return None

    def latest_fire(self, since: datetime, until: datetime) -> datetime | None:
        """The last fire time in (since, until], or None."""
        found = None
        moment = self.next_fire(since)
        while moment is not None and moment <= until:
            found = moment
            moment = self.next_fire(moment)
        return found

    def at_most_weekly(self) -> bool:
        """One time on one weekday (or one day of the month): what a weekly roundup may use,
        so `hourly` or `daily` cannot send the week's stories over and over."""
        if len(self.minutes) != 1 or len(self.hours) != 1 or self.any_hour:
            return False
        if self.day_restricted and self.weekday_restricted:
            return False
        return len(self.days) == 1 if self.day_restricted else len(self.weekdays) == 1

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = day.weekday() in self.weekdays
        if self.day_restricted and self.weekday_restricted:
            return in_month or in_week  # cron: either field may match when both are given
        return in_month and in_week

    def _fires_on(self, day: date, zone: ZoneInfo) -> list[datetime]:
        moments: set[datetime] = set()
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                first = datetime.combine(day, time(hour, minute), tzinfo=zone)
                moments.add(first.astimezone(UTC))  # in a gap, this is when the clocks jump to
                second = first.replace(fold=1).astimezone(UTC)
                if self.any_hour and second.astimezone(zone).time() == first.time():
                    moments.add(second)  # a repeated hour (equal to `first` on other days)
        return sorted(moments)


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_timezone(name: str) -> ZoneInfo:
    name = name.strip()
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        import difflib  # only a mistake needs it: not imported at start

        close = difflib.get_close_matches(name, sorted(_zone_names()), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ScheduleError(
            f"unknown time zone {name!r}; {hint}use an IANA name such as Europe/London, "
            "America/New_York or UTC"
        ) from None


def parse_schedule(when: str, timezone: str = "UTC") -> Schedule:
    """Parse `when` in `timezone`. Raises ScheduleError that shows a correct example."""
    zone = parse_timezone(timezone)
    words = when.strip().lower().split()
    if not words:
        raise ScheduleError(f"empty schedule; use {SCHEDULE_EXAMPLES}")
    schedule = _cron(" ".join(words), zone.key) if len(words) == 5 else _friendly(words, zone.key)
    if schedule.next_fire(datetime(2000, 1, 1, tzinfo=UTC)) is None:
        raise ScheduleError(f"schedule {when!r} never fires; use {SCHEDULE_EXAMPLES}")
    return schedule


def _friendly(words: list[str], zone: str) -> Schedule:
    every_day = frozenset(range(7))
    if len(words) == 3 and words[0] == "weekly":  # "weekly mon 08:00" reads as "mon 08:00"
        words = words[1:]
    if words == ["hourly"]:
        return _make("hourly", zone, {0}, set(range(24)), every_day, any_hour=True)
    if len(words) != 2 or not _TIME.match(words[1]):
        raise ScheduleError(f"cannot read schedule {' '.join(words)!r}; use {SCHEDULE_EXAMPLES}")
    hour, minute = (int(x) for x in words[1].split(":"))
    days_word = words[0]
    if days_word == "daily":
        weekdays: frozenset[int] = every_day
    elif days_word == "weekdays":
        weekdays = frozenset(range(5))
    elif days_word == "weekends":
        weekdays = frozenset({5, 6})
    else:
        weekdays = frozenset(_day_list(days_word))
    when = f"{days_word} {hour:02d}:{minute:02d}"
    return _make(when, zone, {minute}, {hour}, weekdays, any_hour=False)


def _day_list(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        ends = part.split("-")
        if len(ends) > 2 or not all(e[:3] in WEEKDAYS and len(e) >= 3 for e in ends):
            raise ScheduleError(
                f"cannot read days {text!r}; use day names like mon,thu or mon-fri "
                f"(e.g. {SCHEDULE_EXAMPLES})"
            )
        first, last = WEEKDAYS.index(ends[0][:3]), WEEKDAYS.index(ends[-1][:3])
        out.update(
            range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        )
    return out


def _make(
    when: str,
    zone: str,
    minutes: set[int],
    hours: set[int],
    weekdays: frozenset[int],
    *,
    any_hour: bool,
) -> Schedule:
    return Schedule(
        when=when,
        timezone=zone,
        minutes=frozenset(minutes),
        hours=frozenset(hours),
        days=frozenset(range(1, 32)),
        months=frozenset(range(1, 13)),
        weekdays=weekdays,
        any_hour=any_hour,
        day_restricted=False,
        weekday_restricted=True,
    )


def _cron(expr: str, zone: str) -> Schedule:
    minute, hour, dom, month, dow = expr.split()
    try:
        weekdays = {(d - 1) % 7 for d in _field(dow, 0, 7, WEEKDAYS_SUNDAY_FIRST)}
        return Schedule(
            when=expr,
            timezone=zone,
            minutes=frozenset(_field(minute, 0, 59)),
            hours=frozenset(_field(hour, 0, 23)),
            days=frozenset(_field(dom, 1, 31)),
            months=frozenset(_field(month, 1, 12, MONTHS, first=1)),
            weekdays=frozenset(weekdays),
            any_hour=hour == "*",
            day_restricted=dom not in ("*", "?"),
            weekday_restricted=dow not in ("*", "?"),
        )
    except ValueError as exc:
        raise ScheduleError(
            f"cannot read cron expression {expr!r}: {exc}. Five fields: minute hour day-of-month "
            'month day-of-week, e.g. "30 7 * * 1-5" (07:30 on weekdays)'
        ) from None


# cron numbers days of the week from Sunday = 0 (7 is Sunday too)
WEEKDAYS_SUNDAY_FIRST = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _field(text: str, low: int, high: int, names: tuple[str, ...] = (), first: int = 0) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = _number(step_text, names, first) if step_text else 1
        if step < 1:
            raise ValueError(f"step {step_text!r} must be at least 1")
        if body in ("*", "?"):
            start, stop = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            start, stop = _number(a, names, first), _number(b, names, first)
        else:
            start = _number(body, names, first)
            stop = high if step_text else start
        if not (low <= start <= high and low <= stop <= high) or start > stop:
            raise ValueError(f"{part!r} is outside {low}-{high}")
        values.update(range(start, stop + 1, step))
    return values


def _number(text: str, names: tuple[str, ...], first: int) -> int:
    if text[:3] in names and len(text) >= 3:
        return names.index(text[:3]) + first
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a number")
    return int(text)
