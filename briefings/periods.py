"""The period a question names ("this week", "in October", "last month", "since Monday"), as a
span of publication dates relative to now, so an answer quotes only posts from then.

Pure functions on text and a given `now` (the caller's clock, so tests fix it). Weeks start on
Monday; every bound is UTC midnight. A month or weekday named without a year is the latest one
not after now ("in October" asked in November is this year's October). Years are no periods
here: "in 2014" or "last year" in a news question says when something happened far more often
than when it was written about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTH = "|".join(_MONTHS)
_DAY = "|".join(_DAYS)

_PATTERN = re.compile(
    r"\b(?:(?P<rel>this|last|past|previous) (?P<unit>week|month)|"
    r"(?P<today>today|yesterday)|"
    r"(?:in|during) (?P<month>" + _MONTH + r")(?: (?P<year>(?:19|20)\d\d))?|"
    r"since (?:last )?(?P<since_day>" + _DAY + r")|"
    r"since (?P<since_month>" + _MONTH + r")(?: (?P<since_date>\d{1,2}))?)\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime  # inclusive
    until: datetime  # exclusive
    label: str  # the words that named it, as asked ("this week")
    start: int  # where those words stand in the question
    end: int


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    return _month_start(start.year + start.month // 12, start.month % 12 + 1)


def period_in(question: str, now: datetime) -> Period | None:
    """The first period the question names, or None."""
    match = _PATTERN.search(question)
    if match is None:
        return None
    today = _midnight(now)
    found = match.groupdict()
    since: datetime
    until: datetime
    if found["unit"]:
        unit, current = found["unit"].lower(), found["rel"].lower() == "this"
        if unit == "week":
            since = today - timedelta(days=today.weekday())
            until = since + timedelta(days=7)
            if not current:
                since, until = since - timedelta(days=7), since
        else:
            since = _month_start(today.year, today.month)
            until = _next_month(since)
            if not current:
                until = since
                since = _month_start(since.year - (since.month == 1), (since.month - 2) % 12 + 1)
    elif found["today"]:
        since = today - timedelta(days=found["today"].lower() == "yesterday")
        until = since + timedelta(days=1)
    elif found["month"]:
        month = _MONTHS.index(found["month"].lower()) + 1
        year = int(found["year"]) if found["year"] else today.year - (month > today.month)
        since = _month_start(year, month)
        until = _next_month(since)
    elif found["since_day"]:
        back = (today.weekday() - _DAYS.index(found["since_day"].lower())) % 7
        since = today - timedelta(days=back)
        until = now + timedelta(seconds=1)
    else:
        month = _MONTHS.index(found["since_month"].lower()) + 1
        year = today.year - (month > today.month)
        day = int(found["since_date"]) if found["since_date"] else 1
        try:
            since = datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            return None
        until = now + timedelta(seconds=1)
    return Period(since, until, match.group(), match.start(), match.end())


def without_period(question: str, period: Period | None) -> str:
    """The question with the words naming its period taken out (they say when, not what)."""
    if period is None:
        return question
    return f"{question[: period.start]} {question[period.end :]}"
