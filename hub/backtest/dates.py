"""``--from`` and ``--to`` of ``hub backtest``: a day in the hub's time zone, or an exact time."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.errors import ConfigError


def window(since: str | None, until: str | None, zone_name: str) -> tuple[datetime | None, datetime | None]:
    """(start, end), end exclusive: ``--to 2026-11-30`` takes in the whole of that day."""
    zone = ZoneInfo(zone_name)
    start = parse_moment("--from", since, zone, end_of_day=False) if since else None
    end = parse_moment("--to", until, zone, end_of_day=True) if until else None
    if start is not None and end is not None and start >= end:
        raise ConfigError(f"--from {since} is not before --to {until}: give a window that holds some time")
    return start, end


def parse_moment(option: str, text: str, zone: ZoneInfo, *, end_of_day: bool) -> datetime:
    """``YYYY-MM-DD`` is midnight in ``zone`` (the next midnight for the end of a window);
    a time needs its offset, as everywhere in the contract."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), tzinfo=zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 time such as "
            "2026-11-25T09:00:00+08:00"
        ) from None
    if moment.tzinfo is None:
        raise ConfigError(f"{option} {text!r} has no offset: give one, e.g. 2026-11-25T09:00:00+08:00 or …Z")
    return moment
