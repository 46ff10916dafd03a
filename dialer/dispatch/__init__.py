"""The dispatcher: place every call that should be placed, exactly once, as fast as allowed.

Small parts, each with one job:

* :mod:`~dialer.dispatch.plan` — what a run is given and gives back (plain data);
* :mod:`~dialer.dispatch.decisions` — what each answer, error or synced call does to an
  attempt and its lead: pure functions returning a step;
* :mod:`~dialer.dispatch.book` — the one owner of the open attempts and their lookup tables;
* :mod:`~dialer.dispatch.context` — what the parts share, and ``carry``: a step taking effect;
* :mod:`~dialer.dispatch.follower` — outcome syncs, look-ups, platform holds, analyses;
* :mod:`~dialer.dispatch.recovery` — picking up after an interruption, from the ledger alone;
* :mod:`~dialer.dispatch.dnckeeper` — the DNC cache, never older than the campaign allows;
* :mod:`~dialer.dispatch.loop` — claiming, the live-call cap, the gate, shutdown, progress.
"""

from dialer.dispatch.loop import Dispatcher
from dialer.dispatch.plan import (
    CampaignPlan,
    CampaignState,
    Ending,
    Progress,
    RunOptions,
    RunResult,
)

__all__ = [
    "CampaignPlan",
    "CampaignState",
    "Dispatcher",
    "Ending",
    "Progress",
    "RunOptions",
    "RunResult",
]
