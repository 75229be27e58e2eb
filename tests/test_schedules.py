"""Schedules: the forms admins type, time zones, and DST days, computed without a real clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.schedules import ScheduleError, parse_schedule

NEW_YORK = "America/New_York"


def fires(when: str, zone: str, start: datetime, count: int) -> list[datetime]:
    schedule = parse_schedule(when, zone)
    out, moment = [], start
    for _ in range(count):
        nxt = schedule.next_fire(moment)
        assert nxt is not None
        out.append(nxt)
        moment = nxt
    return out


def local(moments: list[datetime], zone: str) -> list[str]:
    return [m.astimezone(ZoneInfo(zone)).strftime("%a %m-%d %H:%M") for m in moments]


def test_daily_weekdays_and_named_days_fire_at_local_wall_time() -> None:
    wed = datetime(2026, 11, 25, 12, tzinfo=UTC)  # a Wednesday
    assert local(fires("daily 08:00", "Europe/London", wed, 2), "Europe/London") == [
        "Thu 11-26 08:00",
        "Fri 11-27 08:00",
    ]
    assert local(fires("weekdays 07:30", "Asia/Tokyo", wed, 3), "Asia/Tokyo") == [
        "Thu 11-26 07:30",
        "Fri 11-27 07:30",
        "Mon 11-30 07:30",
    ]
    assert local(fires("mon,thu 09:00", NEW_YORK, wed, 3), NEW_YORK) == [
        "Thu 11-26 09:00",
        "Mon 11-30 09:00",
        "Thu 12-03 09:00",
    ]
    assert local(fires("hourly", "UTC", wed, 2), "UTC") == ["Wed 11-25 13:00", "Wed 11-25 14:00"]


def test_cron_day_of_week_counts_from_sunday_like_cron() -> None:
    # APScheduler's from_crontab reads 1 as Tuesday; cron (and admins) mean Monday.
    wed = datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert local(fires("0 9 * * 1", NEW_YORK, wed, 2), NEW_YORK) == [
        "Mon 11-30 09:00",
        "Mon 12-07 09:00",
    ]
    assert local(fires("30 7 * * 0,7", "UTC", wed, 1), "UTC") == ["Sun 11-29 07:30"]
    assert local(fires("*/20 6 * * mon-fri", "UTC", wed, 4), "UTC") == [
        "Thu 11-26 06:00",
        "Thu 11-26 06:20",
        "Thu 11-26 06:40",
        "Fri 11-27 06:00",
    ]
    # Both day fields given: either may match, as in cron.
    assert local(fires("0 8 1 * fri", "UTC", wed, 2), "UTC") == [
        "Fri 11-27 08:00",
        "Tue 12-01 08:00",
    ]


def test_spring_forward_day_still_gets_its_digest_when_the_clocks_jump() -> None:
    # 2026-03-08, New York: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist that day.
    got = fires("daily 02:30", NEW_YORK, datetime(2026, 3, 7, 12, tzinfo=UTC), 3)
    assert local(got, NEW_YORK) == ["Sun 03-08 03:30", "Mon 03-09 02:30", "Tue 03-10 02:30"]
    # Every day still fires exactly once: gaps between runs are 23 h around the change.
    assert got[1] - got[0] == timedelta(hours=23)


def test_fall_back_day_fires_once_for_a_fixed_time() -> None:
    # 2026-11-01, New York: 01:30 happens twice (EDT, then EST). One digest, at the first.
    got = fires("daily 01:30", NEW_YORK, datetime(2026, 10, 31, 12, tzinfo=UTC), 3)
    assert [g.isoformat() for g in got] == [
        "2026-11-01T05:30:00+00:00",  # 01:30 EDT
        "2026-11-02T06:30:00+00:00",  # 01:30 EST the next day
        "2026-11-03T06:30:00+00:00",
    ]


def test_hourly_on_fall_back_day_fires_every_real_hour_without_getting_stuck() -> None:
    got = fires("hourly", NEW_YORK, datetime(2026, 11, 1, 4, 10, tzinfo=UTC), 4)
    assert [g.strftime("%H:%M") for g in got] == ["05:00", "06:00", "07:00", "08:00"]


def test_two_time_zones_differ_by_their_offsets() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    london = fires("daily 08:00", "Europe/London", start, 1)[0]
    tokyo = fires("daily 08:00", "Asia/Tokyo", start, 1)[0]
    assert london.isoformat() == "2026-06-01T07:00:00+00:00"  # BST
    assert tokyo.isoformat() == "2026-06-01T23:00:00+00:00"


@pytest.mark.parametrize(
    ("when", "zone", "expected"),
    [
        ("daily 8am", "UTC", 'use "daily 08:00"'),
        ("daily 24:00", "UTC", "daily 08:00"),
        ("sometimes 08:00", "UTC", "mon,thu"),
        ("61 * * * *", "UTC", '"30 7 * * 1-5"'),
        ("0 0 30 2 *", "UTC", "never fires"),
        ("daily 08:00", "Europe/Londn", "did you mean Europe/London?"),
        ("daily 08:00", "../etc/passwd", "Europe/London"),
        ("", "UTC", "daily 08:00"),
    ],
)
def test_bad_schedules_and_zones_are_refused_with_a_correct_example(
    when: str, zone: str, expected: str
) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(when, zone)
    assert expected in str(caught.value)


WHENS = st.sampled_from(
    ["daily 08:00", "weekdays 07:30", "mon,thu 09:00", "hourly", "*/15 * * * *", "30 1 * * *"]
)
ZONES = st.sampled_from(["UTC", NEW_YORK, "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"])


@settings(max_examples=200, deadline=None)
@given(
    WHENS,
    ZONES,
    st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
)
def test_next_fire_is_later_and_nothing_fires_in_between(
    when: str, zone: str, start: datetime
) -> None:
    schedule = parse_schedule(when, zone)
    first = schedule.next_fire(start)
    assert first is not None and first > start
    second = schedule.next_fire(first)
    assert second is not None and second > first
    # Asking from just before `second` lands on it: no fire time is skipped.
    assert schedule.next_fire(second - timedelta(microseconds=1)) == second
    assert schedule.latest_fire(start, second) == second
