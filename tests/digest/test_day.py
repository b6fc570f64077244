"""Business days: the cutoff moment belongs to the day it ends, the next second to the next day."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.digest.day import business_day, cutoff_ts, last_closed_day, parse_cutoff, window

SH = ZoneInfo("Asia/Shanghai")
CUT = parse_cutoff("21:00")


def ts(y, m, d, hh, mm, ss=0, tz=SH) -> float:
    return datetime(y, m, d, hh, mm, ss, tzinfo=tz).timestamp()


def test_the_cutoff_second_ends_the_day():
    assert business_day(ts(2026, 6, 13, 21, 0), CUT, SH) == "2026-06-13"
    assert business_day(ts(2026, 6, 13, 21, 0, 1), CUT, SH) == "2026-06-14"
    assert business_day(ts(2026, 6, 13, 0, 5), CUT, SH) == "2026-06-13"
    assert business_day(ts(2026, 12, 31, 22, 0), CUT, SH) == "2027-01-01"


def test_last_closed_day_is_the_one_a_digest_sent_then_covers():
    assert last_closed_day(ts(2026, 6, 13, 21, 30), CUT, SH) == "2026-06-13"
    assert last_closed_day(ts(2026, 6, 14, 8, 0), CUT, SH) == "2026-06-13"
    assert last_closed_day(ts(2026, 6, 13, 21, 0), CUT, SH) == "2026-06-13"
    assert last_closed_day(ts(2026, 6, 13, 20, 59), CUT, SH) == "2026-06-12"


def test_windows_follow_the_local_clock_across_daylight_saving():
    ny = ZoneInfo("America/New_York")
    start, end = window("2026-03-08", CUT, ny)  # clocks spring forward that night
    assert end - start == 23 * 3600
    start, end = window("2026-06-13", CUT, SH)
    assert end - start == 24 * 3600 and end == cutoff_ts("2026-06-13", CUT, SH) == ts(2026, 6, 13, 21, 0)


def test_cutoff_text():
    assert parse_cutoff("7:30").strftime("%H:%M") == "07:30"
