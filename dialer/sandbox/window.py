"""The optional workspace call window: outbound calls outside it are scheduled (docs/api.md §13)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _default_hours() -> dict[str, tuple[time, time]]:
    """The platform's seeded window (R2): Sun–Thu 09:00–19:00, Fri 09:00–11:30, Sat closed."""
    weekday = (time(9, 0), time(19, 0))
    return {
        "sun": weekday,
        "mon": weekday,
        "tue": weekday,
        "wed": weekday,
        "thu": weekday,
        "fri": (time(9, 0), time(11, 30)),
    }


@dataclass(frozen=True)
class CallWindow:
    """Opening hours per weekday (missing day = closed), in the workspace time zone."""

    hours: dict[str, tuple[time, time]] = field(default_factory=_default_hours)
    timezone: str = "Asia/Jerusalem"

    def is_open(self, moment: datetime) -> bool:
        """Whether an outbound call may be placed at ``moment``."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        span = self.hours.get(DAYS[local.weekday()])
        return span is not None and span[0] <= local.time() < span[1]

    def next_opening(self, moment: datetime) -> datetime | None:
        """The first instant at or after ``moment`` when the window is open (None: never)."""
        if self.is_open(moment):
            return moment
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            span = self.hours.get(DAYS[day.weekday()])
            if span is None:
                continue
            opening = datetime.combine(day, span[0], tzinfo=zone)
            if opening >= local:
                return opening.astimezone(UTC)
        return None
