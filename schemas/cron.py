"""Cron schedules as Kubernetes' CronJobs read them (robfig/cron v3's ParseStandard):
five fields `minute hour day-of-month month day-of-week` with `*`, `?`, lists, ranges,
steps and month/day names, or a macro (`@yearly`, `@annually`, `@monthly`, `@weekly`,
`@daily`, `@midnight`, `@hourly`), or `@every <duration>` (Go's duration syntax: `90s`,
`1h30m`; robfig's ConstantDelaySchedule, whole seconds, at least one). `Schedule.next(t)` is
the first activation strictly after `t`, in the schedule's time zone (wall-clock time, as
robfig computes it); `ConstantDelay.next(t)` is `t` (to the second) plus the delay.

Pure. Used by ``schemas.batch`` (validation: the parser's messages) and the CronJob
controller (``services.controllers.cronjob``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
          "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
MONTHS = {name: i + 1 for i, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
DAYS = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, MONTHS),
                                                      (0, 6, DAYS))
YEARS_AHEAD = 5  # robfig gives up after five years without an activation
EVERY = "@every "
UNIT_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
           "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]*)")


class CronError(ValueError):
    """A schedule the parser refuses; the message is robfig/cron's."""


@dataclass(frozen=True, slots=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_star: bool
    weekdays_star: bool

    def _day_matches(self, t: datetime) -> bool:
        dom, dow = t.day in self.days, (t.weekday() + 1) % 7 in self.weekdays
        if self.days_star or self.weekdays_star:
            return dom and dow
        return dom or dow

    def next(self, after: datetime, zone: tzinfo = timezone.utc) -> datetime | None:
        """The first activation strictly after `after` (aware), as an aware UTC time; None
        when there is none within five years (e.g. `0 0 30 2 *`)."""
        t = after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0) + timedelta(minutes=1)
        limit = t.year + YEARS_AHEAD
        while t.year <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                found = t.replace(tzinfo=zone).astimezone(timezone.utc)
                if found > after:  # a wall-clock time a DST change skipped or repeated
                    return found
                t += timedelta(minutes=1)
        return None


@dataclass(frozen=True, slots=True)
class ConstantDelay:
    """`@every <duration>`: an activation every `seconds` (robfig's ConstantDelaySchedule)."""

    seconds: int

    def next(self, after: datetime, zone: tzinfo = timezone.utc) -> datetime | None:
        """`after` to the second, plus the delay (the time zone plays no part)."""
        return after.replace(microsecond=0) + timedelta(seconds=self.seconds)


def parse_schedule(text: str) -> Schedule | ConstantDelay:
    spec = text.strip()
    if spec.startswith(EVERY):
        duration = spec[len(EVERY):]
        try:
            nanoseconds = go_duration_ns(duration)
        except ValueError as exc:
            raise CronError(f"failed to parse duration {spec}: {exc}") from None
        return ConstantDelay(max(1, nanoseconds // 10**9))  # under a second: one second, as robfig
    if spec.startswith("@"):
        if spec not in MACROS:
            raise CronError(f"unrecognized descriptor: {spec}")
        spec = MACROS[spec]
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    values = []
    stars = []
    for field, (low, high, names) in zip(fields, BOUNDS):
        values.append(_field(field, low, high, names))
        stars.append(field.startswith(("*", "?")))
    return Schedule(frozenset(values[0]), frozenset(values[1]), frozenset(values[2]), frozenset(values[3]),
                    frozenset(values[4]), days_star=stars[2], weekdays_star=stars[4])


def go_duration_ns(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds, with its error messages."""
    quoted = '"' + text + '"'
    body = text[1:] if text[:1] in "+-" else text
    sign = -1 if text[:1] == "-" else 1
    if body == "0":
        return 0
    if not body:
        raise ValueError(f"time: invalid duration {quoted}")
    total, pos = Decimal(0), 0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)  # always matches, maybe empty
        assert match is not None
        number, unit = match.group(1), match.group(2)
        if number in ("", "."):
            raise ValueError(f"time: invalid duration {quoted}")
        if not unit:
            raise ValueError(f"time: missing unit in duration {quoted}")
        if unit not in UNIT_NS:
            raise ValueError(f'time: unknown unit "{unit}" in duration {quoted}')
        total += Decimal(number) * UNIT_NS[unit]
        pos = match.end()
    return sign * int(total)


def _field(field: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    out: set[int] = set()
    for expr in field.split(","):
        out |= _range(expr, low, high, names)
    return out


def _range(expr: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    if low_and_high[0] in ("*", "?"):
        start, end = low, high
    else:
        start = _number(low_and_high[0], names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _number(low_and_high[1], names)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _number(range_and_step[1], {})
        if single and low_and_high[0] not in ("*", "?"):
            end = high  # "N/step" means N-max/step
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < low:
        raise CronError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise CronError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return set(range(start, end + 1, step))


def _number(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise CronError(f"failed to parse int from {text}: strconv.Atoi: parsing {text!r}: invalid syntax"
                        .replace("'", '"'))
    return int(text)
