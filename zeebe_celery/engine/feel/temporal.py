"""FEEL's temporal values: parsing them from FEEL's text forms, writing them back, and month arithmetic.

A FEEL value of each temporal type is a plain Python value: ``date``, ``time``, ``datetime`` (naive for a
local date-time, aware for one with an offset or zone), ``timedelta`` for a days-and-time duration, and
:class:`YearsMonthsDuration`, since Python has no calendar duration.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .wide import WideTemporal, make_date, nanos_of, split, widen

__all__ = [
    "YearsMonthsDuration",
    "add_months",
    "format_date",
    "format_datetime",
    "format_duration",
    "format_time",
    "parse_date",
    "parse_datetime",
    "parse_duration",
    "parse_temporal",
    "parse_time",
]


@dataclass(frozen=True, order=True)
class YearsMonthsDuration:
    """A years-and-months duration, held as a whole number of months (negative for a negative one)."""

    months: int

    @property
    def years(self) -> int:
        return int(self.months / 12)

    def __str__(self) -> str:
        return format_duration(self)


# Strict forms: two-digit fields, a year of four digits (more only without a leading zero), offsets
# within +-18:00, and an offset or a zone id but not both. A year Python cannot hold reads as null.
_DATE = re.compile(r"(-?(?:\d{4}|[1-9]\d{4,8}))-(\d{2})-(\d{2})")
_TIME = re.compile(
    r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z|[+-]\d{2}:\d{2}(?::\d{2})?)|@([A-Za-z][A-Za-z0-9_/+-]*))?"
)
_DATE_TIME = re.compile(r"-?\d+-\d+-\d+T")
_YM = re.compile(r"(-)?P(?=\d)(?:(\d+)Y)?(?:(\d+)M)?")
_DT = re.compile(r"(-)?P(?=\d|T\d)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d*)?)S)?)?")


def parse_date(text: str) -> date | None:
    """``"2024-01-31"`` as a date; ``None`` for any other text."""
    m = _DATE.fullmatch(text)
    if m is None:
        return None
    try:
        day: date = make_date(int(m[1]), int(m[2]), int(m[3]))
    except (ValueError, OverflowError):
        return None
    return day


def zone_of(offset: str | None, zone_id: str | None) -> tzinfo | None:
    """The tzinfo for an offset or zone id; raises ValueError for a zone id the system does not know."""
    if zone_id is not None:
        try:
            return ZoneInfo(zone_id)
        except ZoneInfoNotFoundError as error:
            raise ValueError(f"unknown time zone {zone_id!r}") from error
    if offset is None:
        return None
    if offset == "Z":
        return UTC
    sign = -1 if offset[0] == "-" else 1
    parts = [int(p) for p in offset[1:].split(":")]
    if parts[1] > 59 or (len(parts) > 2 and parts[2] > 59):
        raise ValueError(f"invalid offset {offset!r}")
    delta = timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2] if len(parts) > 2 else 0)
    return offset_zone(sign * delta)


def offset_zone(delta: timedelta) -> tzinfo:
    """The fixed zone of an offset; java.time allows up to 18 hours either way."""
    if abs(delta) > timedelta(hours=18):
        raise ValueError(f"offset {delta} is beyond 18 hours")
    return timezone(delta) if delta else UTC


def parse_time(text: str) -> time | None:
    """``"10:30:00"``, with optional fraction and ``Z`` / ``+01:00`` / ``@Europe/Berlin``; else ``None``."""
    m = _TIME.fullmatch(text)
    if m is None:
        return None
    fraction = (m[4] or "").ljust(9, "0")
    try:
        moment = time(int(m[1]), int(m[2]), int(m[3] or 0), int(fraction[:6]), tzinfo=zone_of(m[5], m[6]))
    except ValueError:
        return None
    value: time = widen(moment, 0, int(fraction[6:]))
    return value


def parse_datetime(text: str) -> datetime | None:
    """``"2024-01-31T10:30:00"`` (with optional offset or zone) as a datetime; else ``None``."""
    day_part, sep, time_part = text.partition("T")
    if not sep:
        return None
    next_day = time_part.startswith("24:00:00") and not time_part[8:9].isdigit()
    if next_day:  # 24:00:00 is the midnight that ends the day, as ISO 8601 allows
        if re.match(r"24:00:00(?:\.0*)?(?:[^.\d]|$)", time_part) is None:
            return None
        time_part = "00" + time_part[2:]
    day, moment = parse_date(day_part), parse_time(time_part)
    if day is None or moment is None:
        return None
    cycles, base = split(day)
    combined = datetime.combine(base, split(moment)[1]) + timedelta(days=1 if next_day else 0)
    value: datetime = widen(combined, cycles, nanos_of(moment))
    return value


def parse_duration(text: str) -> timedelta | YearsMonthsDuration | None:
    """An ISO-8601 duration: ``P1Y2M`` gives years-months, ``P1DT2H`` gives days-time; else ``None``."""
    m = _YM.fullmatch(text)
    if m is not None:
        months = int(m[2] or 0) * 12 + int(m[3] or 0)
        return YearsMonthsDuration(-months if m[1] else months)
    m = _DT.fullmatch(text)
    if m is None:
        return None
    seconds = Decimal(m[6] or 0)
    try:
        delta = timedelta(
            weeks=int(m[2] or 0),
            days=int(m[3] or 0),
            hours=int(m[4] or 0),
            minutes=int(m[5] or 0),
            seconds=int(seconds),
            microseconds=int((seconds % 1) * 1_000_000),
        )
    except OverflowError:
        return None  # beyond what a timedelta holds
    return -delta if m[1] else delta


def parse_temporal(text: str) -> date | time | datetime | timedelta | YearsMonthsDuration | None:
    """The value of an ``@"..."`` literal: a date, time, date-time or duration, whichever the text is."""
    if text.startswith(("P", "-P")):
        return parse_duration(text)
    if _DATE_TIME.match(text):
        return parse_datetime(text)
    if ":" in text:
        return parse_time(text)
    return parse_date(text)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the last day of a shorter month (as java.time does)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


def _year(value: date | WideTemporal) -> str:
    year = value.year
    return f"-{-year:04d}" if year < 0 else f"{year:04d}"


def format_date(value: date | WideTemporal) -> str:
    if isinstance(value, WideTemporal):
        return _year(value) + value.value.isoformat()[4:]
    return value.isoformat()


def _format_offset(tz: tzinfo | None, at: datetime | None) -> str:
    if tz is None:
        return ""
    if isinstance(tz, ZoneInfo):
        return "@" + tz.key
    offset = tz.utcoffset(at)
    if not offset:
        return "Z"
    sign = "-" if offset < timedelta(0) else "+"
    total = int(abs(offset).total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


def _format_clock(value: time | datetime, nanos: int = 0) -> str:
    text = f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    if value.microsecond or nanos:
        text += f".{value.microsecond:06d}{nanos:03d}".rstrip("0")
    return text


def format_time(value: time | WideTemporal) -> str:
    if isinstance(value, WideTemporal):
        base = value.value
        assert isinstance(base, time)
        return _format_clock(base, value.nanos) + _format_offset(base.tzinfo, None)
    return _format_clock(value) + _format_offset(value.tzinfo, None)


def format_datetime(value: datetime | WideTemporal) -> str:
    if isinstance(value, WideTemporal):
        base = value.value
        assert isinstance(base, datetime)
        day = _year(value) + base.date().isoformat()[4:]
        return f"{day}T{_format_clock(base, value.nanos)}{_format_offset(base.tzinfo, base)}"
    return f"{value.date().isoformat()}T{_format_clock(value)}{_format_offset(value.tzinfo, value)}"


def format_duration(value: timedelta | YearsMonthsDuration) -> str:
    """FEEL's text for a duration: ``P1Y2M``, ``P1DT2H30M``, ``-PT5S``, ``PT0S``."""
    if isinstance(value, YearsMonthsDuration):
        months = abs(value.months)
        years, months = divmod(months, 12)
        body = (f"{years}Y" if years else "") + (f"{months}M" if months or not years else "")
        return ("-P" if value.months < 0 else "P") + body
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or value.microseconds:
        fraction = f".{value.microseconds:06d}".rstrip("0") if value.microseconds else ""
        clock += f"{seconds}{fraction}S"
    days = f"{value.days}D" if value.days else ""
    if not days and not clock:
        return "PT0S"
    return f"{sign}P{days}" + (f"T{clock}" if clock else "")
