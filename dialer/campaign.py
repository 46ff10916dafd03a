"""Campaign operations: the library behind ``validate``, ``run``, ``resume`` and ``status``.

Each function opens nothing it does not close and takes ``now`` or a clock from its caller.
The CLI only parses, calls one of these, and prints.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import pandas as pd

from dialer.api.client import YapprClient
from dialer.api.ratelimit import RateBudget
from dialer.api.retry import Backoff
from dialer.api.transport import Transport
from dialer.clock import Clock, ScaledClock, SystemClock, parse_instant
from dialer.config import Campaign, load_campaign
from dialer.dispatch import CampaignPlan, Dispatcher, Ending, Progress, RunOptions, RunResult
from dialer.dispatch.account import AccountScheduler
from dialer.dispatch.dnckeeper import DncKeeper
from dialer.dispatch.lines import LinePool
from dialer.dnc import DncEntry, DncIndex, read_suppression_file
from dialer.errors import ApiError, AuthError, ConfigError, DncStaleError
from dialer.leads import classify, give_back_memory, load_leads
from dialer.models import LeadStatus
from dialer.state import RetryPolicy
from dialer.store import CampaignRecord, Ledger
from dialer.window import CallingWindow

log = logging.getLogger("dialer")

DEFAULT_BASE_URL = "https://api.goyappr.com"


class Stoppable(Protocol):
    """What a signal handler needs of a run: a way to ask it to drain and end."""

    def request_stop(self) -> None:
        """Stop claiming; requests in flight finish and are recorded."""
        ...


#: The per-row CSV of ``validate``; ``zones`` is the zone set each lead was judged in.
STATUS_COLUMNS = ["row", "phone_raw", "phone", "status", "reason", "zones"]


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach the API. ``api_key`` is held in memory only, never written anywhere."""

    base_url: str
    api_key: str | None
    clock: Clock
    account: str  # what the DNC cache is filed under: the base URL, never the key
    transport: Transport | None = None  # default: aiohttp (the sandbox's in-process one in tests)
    seed: int | None = None  # retry jitter made repeatable (simulations); None: random

    def __repr__(self) -> str:
        return f"Connection(base_url={self.base_url!r}, api_key=<hidden>)"


def connection_from_env(clock: Clock | None = None) -> Connection:
    """``YAPPR_BASE_URL`` and ``YAPPR_API_KEY`` from the environment."""
    base_url = os.environ.get("YAPPR_BASE_URL", DEFAULT_BASE_URL).rstrip("/")
    api_key = os.environ.get("YAPPR_API_KEY") or None
    return Connection(
        base_url, api_key, clock or SystemClock(), account=account_of(base_url, api_key)
    )


def account_of(base_url: str, api_key: str | None) -> str:
    """What the ledger files an account under: a one-way fingerprint of the API and the key
    (the key itself is never written anywhere). Two keys are two accounts."""
    secret = f"{base_url}\n{api_key or ''}".encode()
    return "acct-" + hashlib.sha256(secret).hexdigest()[:16]


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


async def with_server_clock(connection: Connection) -> Connection:
    """Share the clock of a ``dialer sandbox`` running in another process.

    Only a server on this machine is asked (GET /); a sandbox answers with its time scale
    and current time, and every wait, Retry-After and Reset is then read on that clock.
    The real API is never asked and keeps the system clock.
    """
    host = urlsplit(connection.base_url).hostname or ""
    if host not in _LOOPBACK_HOSTS or not connection.api_key:
        return connection
    async with open_client(connection, requests_per_minute=60) as client:
        try:
            info = (await client.server_info()).get("sandbox")
        except ApiError:
            return connection
    if not isinstance(info, dict) or not info.get("time_scale") or not info.get("now"):
        return connection
    clock = ScaledClock(float(info["time_scale"]), start=parse_instant(str(info["now"])))
    return replace(connection, clock=clock)


@asynccontextmanager
async def open_client(
    connection: Connection, *, requests_per_minute: int
) -> AsyncIterator[YapprClient]:
    """A client with one rate budget for every request of this run."""
    if not connection.api_key:
        raise ConfigError(
            "YAPPR_API_KEY is not set: export your Yappr API key, or add --sandbox to try "
            "the campaign against the built-in sandbox"
        )
    budget = RateBudget(requests_per_minute=requests_per_minute, clock=connection.clock)
    async with YapprClient(
        base_url=connection.base_url,
        api_key=connection.api_key,
        clock=connection.clock,
        budget=budget,
        transport=connection.transport,
        backoff=Backoff(rng=random.Random(connection.seed)),
    ) as client:
        yield client


# -- DNC ------------------------------------------------------------------------------------


async def refresh_dnc(ledger: Ledger, client: YapprClient, *, account: str, now: datetime) -> int:
    """Fetch the company DNC list and replace the cached copy; returns the entry count."""
    entries = await client.list_dnc()
    rows = [
        {
            "id": e.id,
            "phone_number": e.phone_number,
            "agent_ids": list(e.agent_ids),
            "expires_at": e.expires_at,
            "reason": e.reason,
            "source": e.source,
        }
        for e in entries
    ]
    return ledger.replace_dnc(account, rows, fetched_at=now)


async def ensure_fresh_dnc(
    ledger: Ledger,
    client: YapprClient | None,
    *,
    account: str,
    max_age: timedelta,
    now: datetime,
) -> None:
    """Refresh the cache when older than ``max_age``; refuse to go on with a stale one."""
    fetched = ledger.dnc_fetched_at(account)
    if is_fresh(fetched, now=now, max_age=max_age):
        return
    age = _age_text(fetched, now)
    if client is None:
        raise DncStaleError(
            f"the DNC list for {account} is {age} and no API key is set to refresh it; "
            "set YAPPR_API_KEY (or use --sandbox)"
        )
    try:
        await refresh_dnc(ledger, client, account=account, now=now)
    except AuthError as error:
        raise DncStaleError(
            f"the DNC list for {account} is {age} and cannot be refreshed: {error}. "
            "The key needs the do_not_call:read scope (agent-limited keys cannot read it)"
        ) from error
    except ApiError as error:
        raise DncStaleError(
            f"the DNC list for {account} is {age} and cannot be refreshed: {error}; try again later"
        ) from error


def is_fresh(fetched: datetime | None, *, now: datetime, max_age: timedelta) -> bool:
    """Whether a DNC cache fetched at ``fetched`` may still be used at ``now``.

    A fetch time in the future (a clock that was ahead, or moved back since) proves nothing
    about the cache's age, so it counts as stale and the list is fetched again.
    """
    return fetched is not None and timedelta(0) <= now - fetched <= max_age


def _age_text(fetched: datetime | None, now: datetime) -> str:
    """How old the cache is, in words, for a refusal message."""
    if fetched is None:
        return "never fetched"
    if fetched > now:
        return f"stamped {_ago(fetched - now)} in the future"
    return f"fetched {_ago(now - fetched)} ago"


def dnc_index(ledger: Ledger, campaign: Campaign, *, account: str) -> DncIndex:
    """The cached company list plus the campaign's suppression files."""
    entries = [
        DncEntry(
            id=str(e["id"]),
            phone_number=e["phone_number"],
            agent_ids=frozenset(e["agent_ids"]),
            expires_at=e["expires_at"],
            reason=e["reason"],
            source=e["source"],
        )
        for e in ledger.dnc_entries(account)
    ]
    suppressed: dict[str, str] = {}
    for path in campaign.dnc.suppression_files:
        for number in read_suppression_file(path, region=campaign.default_region):
            suppressed.setdefault(number, path.name)
    return DncIndex(entries, suppressed=suppressed)


async def fresh_dnc_index(
    ledger: Ledger, campaign: Campaign, *, connection: Connection, now: datetime
) -> DncIndex:
    """The DNC index, after refreshing the cache if it is older than the campaign allows
    (the API is asked only then)."""
    max_age = timedelta(minutes=campaign.dnc.max_age_minutes)
    if not is_fresh(ledger.dnc_fetched_at(connection.account), now=now, max_age=max_age):
        async with open_client(
            connection, requests_per_minute=campaign.pacing.requests_per_minute
        ) as client:
            await ensure_fresh_dnc(
                ledger, client, account=connection.account, max_age=max_age, now=now
            )
    return dnc_index(ledger, campaign, account=connection.account)


# -- intake ---------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """The content hash that ties a campaign name to one lead sheet."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def classify_campaign(
    campaign: Campaign,
    *,
    ledger: Ledger,
    index: DncIndex,
    now: datetime,
    leads: Path | None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read, normalise, dedupe and screen every row; nothing is written. ``encoding``
    (a codec name) overrides the campaign's and detection."""
    frame = load_leads(campaign, path=leads, encoding=encoding)
    cooldown: dict[str, str] | None = None
    if campaign.dedupe.cooldown_days:
        since = now - timedelta(days=campaign.dedupe.cooldown_days)
        cooldown = ledger.recent_numbers(since=since, exclude=campaign.name)
    classified: pd.DataFrame = classify(frame, campaign, dnc=index, now=now, cooldown=cooldown)
    return classified


def import_campaign(
    campaign: Campaign,
    frame: pd.DataFrame,
    *,
    ledger: Ledger,
    leads_file: Path,
    campaign_file: Path | None,
    now: datetime,
) -> CampaignRecord:
    """Write the campaign and every classified row to the ledger, all or nothing."""
    variables = list(campaign.columns.variables)
    metadata = list(campaign.columns.metadata)
    ledger.create_campaign(
        name=campaign.name,
        agent_id=campaign.agent_id,
        settings=campaign.model_dump(mode="json", by_alias=True),
        campaign_file=str(campaign_file) if campaign_file else None,
        leads_file=str(leads_file),
        leads_sha256=file_sha256(leads_file),
        variable_names=variables,
        metadata_names=metadata,
        rows=_lead_rows(frame, variables=variables, metadata=metadata),
        now=now,
    )
    record = ledger.campaign(campaign.name)
    assert record is not None
    return record


#: Rows built at a time for the ledger: Python tuples for a whole large sheet would take
#: hundreds of bytes a row, at once, on top of the sheet itself.
IMPORT_CHUNK = 20_000


def _lead_rows(
    frame: pd.DataFrame, *, variables: list[str], metadata: list[str]
) -> Iterator[tuple[Any, ...]]:
    """``(row, phone_raw, phone, timezone, status, reason, fields_json)`` for every row, in
    order, built a chunk at a time (column-wise within a chunk)."""
    field_columns = [f"var.{n}" for n in variables] + [f"meta.{n}" for n in metadata]
    base_columns = ["row", "phone_raw", "phone", "timezone", "status", "reason"]
    for start in range(0, len(frame), IMPORT_CHUNK):
        part = frame.iloc[start : start + IMPORT_CHUNK]
        fields = [json.dumps(list(v), ensure_ascii=False) for v in _rows(part, field_columns)]
        for base, text in zip(_rows(part, base_columns), fields, strict=True):
            yield (*base, text)


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple[Any, ...]]:
    """Row tuples, built column-wise (zip of lists is 4x faster than itertuples)."""
    if not columns:
        return [()] * len(frame)
    return list(zip(*(frame[c].tolist() for c in columns), strict=True))


def existing_campaign(
    ledger: Ledger, campaign: Campaign, leads_file: Path
) -> CampaignRecord | None:
    """The ledger's campaign of this name if it was imported from the same sheet; an error
    if the name is taken by a different sheet (a campaign never changes its leads)."""
    record = ledger.campaign(campaign.name)
    if record is None:
        return None
    if record.leads_sha256 != file_sha256(leads_file):
        raise ConfigError(
            f"campaign {campaign.name!r} is already in the ledger with a different lead sheet "
            f"({record.leads_file}); give this campaign a new name, or use "
            f"`dialer resume {campaign.name}` to continue the existing one"
        )
    return record


# -- dispatching ----------------------------------------------------------------------------


def plan_for(record: CampaignRecord) -> tuple[Campaign, CampaignPlan]:
    """The campaign as imported (its stored settings), and what the dispatcher needs of it."""
    campaign = Campaign.model_validate(record.settings)
    window = CallingWindow.from_config(campaign.window) if campaign.window else None
    retry = RetryPolicy(
        statuses=frozenset(LeadStatus(s) for s in campaign.retry.statuses),
        max_attempts=campaign.retry.max_attempts,
        delays_minutes=tuple(campaign.retry.delays_minutes),
        jitter_fraction=campaign.retry.jitter_fraction,
    )
    plan = CampaignPlan(
        name=campaign.name,
        agent_id=campaign.agent_id,
        from_numbers=tuple(campaign.from_numbers),
        variable_names=tuple(record.variable_names),
        metadata_names=tuple(record.metadata_names),
        window=window,
        retry=retry,
        max_live_calls=campaign.pacing.max_live_calls,
        add_on_opt_out=campaign.dnc.add_on_opt_out,
        dnc_max_age=timedelta(minutes=campaign.dnc.max_age_minutes),
        weight=campaign.pacing.weight,
        start_at=campaign.start_at,
        cooldown=timedelta(days=campaign.dedupe.cooldown_days)
        if campaign.dedupe.cooldown_days
        else None,
    )
    return campaign, plan


async def dispatch(
    record: CampaignRecord,
    *,
    ledger: Ledger,
    connection: Connection,
    options: RunOptions,
    on_progress: Callable[[Progress], None] | None = None,
    on_dispatcher: Callable[[Stoppable], None] | None = None,
) -> RunResult:
    """Dispatch one campaign (with every other campaign running on its account)."""
    results = await dispatch_all(
        [record],
        ledger=ledger,
        connection=connection,
        options=options,
        on_progress=on_progress,
        on_dispatcher=on_dispatcher,
    )
    return results[record.name]


async def dispatch_all(
    records: Sequence[CampaignRecord],
    *,
    ledger: Ledger,
    connection: Connection,
    options: RunOptions,
    on_progress: Callable[[Progress], None] | None = None,
    on_dispatcher: Callable[[Stoppable], None] | None = None,
) -> dict[str, RunResult]:
    """Mark the campaigns to run on the connection's account, then dispatch them, or, when
    another process already dispatches that account, let it pick them up and follow them
    there (taking over if that process stops first). Returns each campaign's result."""
    names = [r.name for r in records]
    for name in names:
        ledger.join_account(name, connection.account, now=connection.clock.now())
    while True:
        with ledger.account_lease(connection.account) as held:
            if held:
                return await _dispatch_account(
                    names,
                    ledger=ledger,
                    connection=connection,
                    options=options,
                    on_progress=on_progress,
                    on_dispatcher=on_dispatcher,
                )
        watched = await _follow_elsewhere(
            names, ledger=ledger, connection=connection, every=options.control_interval
        )
        if watched is not None:
            return watched


async def _dispatch_account(
    names: Sequence[str],
    *,
    ledger: Ledger,
    connection: Connection,
    options: RunOptions,
    on_progress: Callable[[Progress], None] | None,
    on_dispatcher: Callable[[Stoppable], None] | None,
) -> dict[str, RunResult]:
    """This process holds the account: one client, one line pool, a dispatcher each."""
    campaigns = [plan_for(find_campaign(ledger, n))[0] for n in names]
    rate = min(c.account.requests_per_minute or c.pacing.requests_per_minute for c in campaigns)
    lines = max(c.account.lines or c.pacing.max_live_calls for c in campaigns)
    async with open_client(connection, requests_per_minute=rate) as client:
        pool, wake = LinePool(lines), asyncio.Event()

        def make(name: str) -> Dispatcher:
            campaign, plan = plan_for(find_campaign(ledger, name))
            return Dispatcher(
                ledger=ledger,
                client=client,
                plan=plan,
                clock=connection.clock,
                keeper=_keeper(ledger, client, campaign, plan, connection),
                options=options,
                on_progress=on_progress,
                pool=pool,
                wake=wake,
            )

        for campaign in campaigns:
            await ensure_fresh_dnc(
                ledger,
                client,
                account=connection.account,
                max_age=timedelta(minutes=campaign.dnc.max_age_minutes),
                now=connection.clock.now(),
            )
        scheduler = AccountScheduler(
            ledger=ledger,
            account=connection.account,
            make=make,
            to_real=connection.clock.to_real,
            pool=pool,
            poll=options.control_interval,
        )
        if on_dispatcher is not None:
            on_dispatcher(scheduler)
        results = await scheduler.run()
    return {name: results[name] for name in names if name in results} | {
        name: _result_from_ledger(ledger, name) for name in names if name not in results
    }


async def sync_campaign(
    record: CampaignRecord,
    *,
    ledger: Ledger,
    connection: Connection,
    options: RunOptions,
    on_progress: Callable[[Progress], None] | None = None,
) -> RunResult:
    """``dialer sync``: follow the campaign's calls still open and the analyses still to
    come (bulk ``GET /calls?updated_since``), placing nothing. Refused while another dialer
    process dispatches the account: that process follows them itself."""
    campaign, plan = plan_for(record)
    with ledger.account_lease(connection.account) as held:
        if not held:
            raise ConfigError(
                f"campaign {record.name!r}: a dialer process is running its account now and "
                "follows its calls itself; sync after it ends"
            )
        rate = campaign.account.requests_per_minute or campaign.pacing.requests_per_minute
        async with open_client(connection, requests_per_minute=rate) as client:
            dispatcher = Dispatcher(
                ledger=ledger,
                client=client,
                plan=plan,
                clock=connection.clock,
                keeper=DncKeeper(
                    index=dnc_index(ledger, campaign, account=connection.account),
                    fetched_at=None,
                    max_age=plan.dnc_max_age,
                    clock=connection.clock,
                ),
                options=replace(options, follow_only=True),
                on_progress=on_progress,
            )
            return await dispatcher.run()


def _keeper(
    ledger: Ledger,
    client: YapprClient,
    campaign: Campaign,
    plan: CampaignPlan,
    connection: Connection,
) -> DncKeeper:
    """The account's cached DNC list (plus the campaign's suppression files), kept fresh."""
    account = connection.account

    async def fetch(now: datetime) -> DncIndex:
        """Re-fetch the company list mid-run, under the same rate budget."""
        await refresh_dnc(ledger, client, account=account, now=now)
        return dnc_index(ledger, campaign, account=account)

    keeper = DncKeeper(
        index=dnc_index(ledger, campaign, account=account),
        fetched_at=ledger.dnc_fetched_at(account),
        max_age=plan.dnc_max_age,
        clock=connection.clock,
        fetch=fetch,
    )
    for phone in ledger.opted_out_numbers():
        keeper.opt_out(phone)
    return keeper


#: Campaign states in which a run of it has ended (an interrupted one is picked up again).
_ENDED = frozenset({"finished", "waiting", "stopped", "paused"})


async def _follow_elsewhere(
    names: Sequence[str], *, ledger: Ledger, connection: Connection, every: float
) -> dict[str, RunResult] | None:
    """Another process dispatches the account: look every ``every`` clock seconds until our
    campaigns' runs end there. None when that process is gone first (the caller takes the
    account over)."""
    log.info("another dialer process dispatches this account: it runs %s too", ", ".join(names))
    while True:
        await connection.clock.sleep(every)
        states = {n: find_campaign(ledger, n).state for n in names}
        if all(state in _ENDED for state in states.values()):
            return {name: _result_from_ledger(ledger, name) for name in names}
        with ledger.account_lease(connection.account) as free:
            if free:
                return None


def _result_from_ledger(ledger: Ledger, name: str) -> RunResult:
    """How a campaign's last run ended, as the ledger has it."""
    record = find_campaign(ledger, name)
    ending = {
        "finished": Ending.FINISHED,
        "waiting": Ending.WAITING,
        "stopped": Ending.STOPPED,
        "paused": Ending.PAUSED,
    }.get(record.state, Ending.INTERRUPTED)
    return RunResult(ending=ending, counts=ledger.counts(name), next_due=ledger.next_due(name))


async def prepare_run(
    campaign_path: Path,
    *,
    ledger: Ledger,
    connection: Connection,
    leads: Path | None = None,
    encoding: str | None = None,
) -> tuple[CampaignRecord, bool]:
    """Load the campaign file and import its sheet (or find it already imported); True if
    it was imported now. The classified sheet is let go of here, its memory handed back to
    the system: a run holds its leads in the ledger, not in memory."""
    campaign = load_campaign(campaign_path)
    leads_file = leads or campaign.leads
    record = existing_campaign(ledger, campaign, leads_file)
    if record is not None:
        return record, False
    now = connection.clock.now()
    index = await fresh_dnc_index(ledger, campaign, connection=connection, now=now)
    frame = classify_campaign(
        campaign, ledger=ledger, index=index, now=now, leads=leads_file, encoding=encoding
    )
    record = import_campaign(
        campaign,
        frame,
        ledger=ledger,
        leads_file=leads_file,
        campaign_file=campaign_path,
        now=now,
    )
    del frame
    give_back_memory()
    return record, True


def _due_text(moment: datetime) -> str:
    """``now`` for leads that are due already, else the instant."""
    return "now" if moment.year == 1 else moment.isoformat(timespec="seconds")


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h"


# -- validate, status -----------------------------------------------------------------------


async def validate_campaign(
    campaign_path: Path,
    *,
    ledger: Ledger,
    connection: Connection,
    leads: Path | None = None,
    out: Path | None = None,
    encoding: str | None = None,
) -> tuple[dict[str, int], pd.DataFrame, Path, str | None]:
    """Everything ``run`` does before the first call, without importing or calling.

    Returns the summary counts, the per-row statuses (``STATUS_COLUMNS``), where they
    belong (``out``, or ``NAME.validation.csv``) and the encoding the sheet was read in
    (``windows-1252 (detected)``; None for a workbook).
    """
    campaign = load_campaign(campaign_path)
    now = connection.clock.now()
    index = await fresh_dnc_index(ledger, campaign, connection=connection, now=now)
    frame = classify_campaign(
        campaign, ledger=ledger, index=index, now=now, leads=leads, encoding=encoding
    )
    target = out or Path(f"{campaign.name}.validation.csv")
    statuses = frame.rename(columns={"timezone": "zones"})[STATUS_COLUMNS]
    summary = validation_summary(frame, campaign, now=now)
    return summary, statuses, target, frame.attrs.get("encoding")


def validation_summary(frame: pd.DataFrame, campaign: Campaign, *, now: datetime) -> dict[str, int]:
    """Rows read, and leads per intake status, with invalid split by reason and the pending
    split into callable now / outside their calling window now (closed in at least one of
    the zones the lead may be in)."""
    summary: dict[str, int] = {"rows read": len(frame)}
    status = frame["status"]
    for reason, n in frame.loc[status == "invalid", "reason"].value_counts().items():
        if n:
            summary[f"invalid: {reason}"] = int(n)
    for name in ("duplicate", "dnc_blocked", "no_window"):
        summary[name] = int((status == name).sum())
    pending = frame.loc[status == "pending", "timezone"]
    closed = 0
    if campaign.window is not None:
        window = CallingWindow.from_config(campaign.window)
        for zone, n in pending.value_counts().items():
            if n and not window.is_open(str(zone), now):  # a categorical counts zeros too
                closed += int(n)
    summary["outside window now"] = closed
    summary["to call"] = len(pending)
    return summary


def find_campaign(ledger: Ledger, name: str) -> CampaignRecord:
    """The campaign called ``name``; an unknown name lists the ones the ledger has."""
    record = ledger.campaign(name)
    if record is None:
        known = ", ".join(ledger.campaign_names()) or "none"
        raise ConfigError(f"no campaign {name!r} in {ledger.path} (campaigns there: {known})")
    return record


def campaign_status(ledger: Ledger, name: str) -> dict[str, Any]:
    """What ``dialer status`` shows for one campaign: where it stands (running, paused,
    scheduled, stopping, interrupted, finished, waiting), its live calls, its share of its
    account and its next opening."""
    record = find_campaign(ledger, name)
    campaign = Campaign.model_validate(record.settings)
    next_due = ledger.next_due(name)
    if campaign.start_at is not None and next_due is not None:
        next_due = max(next_due, campaign.start_at)
    return {
        "name": name,
        "state": _shown_state(ledger, record, campaign),
        "state_reason": record.state_reason,
        "counts": ledger.counts(name),
        "live_calls": ledger.in_flight(name),
        "weight": campaign.pacing.weight,
        "share": _share(ledger, record, campaign.pacing.weight),
        "start_at": campaign.start_at.isoformat() if campaign.start_at else None,
        "next_due": None if next_due is None else _due_text(next_due),
    }


def _shown_state(ledger: Ledger, record: CampaignRecord, campaign: Campaign) -> str:
    """The state a person reads: the ledger's, corrected by what was asked since and by
    whether a dialer process is really running it."""
    if record.state == "finished":
        return "finished"
    if record.control == "stop":
        return "stopping"
    if record.control == "pause":
        return "paused"
    running = record.state in {"running", "queued"}
    if running and not dispatched_now(ledger, record.account):
        return "interrupted"  # its process was killed: `dialer resume` continues it
    started = campaign.start_at is None or campaign.start_at <= datetime.now(UTC)
    return record.state if started or running else "scheduled"


def dispatched_now(ledger: Ledger, account: str | None) -> bool:
    """Whether a dialer process dispatches ``account`` from this ledger right now."""
    with ledger.account_lease(account or "") as free:
        return not free


def _share(ledger: Ledger, record: CampaignRecord, weight: float) -> float:
    """The campaign's weight as a fraction of the running campaigns' on its account."""
    if record.state not in {"running", "queued"} or record.control != "run":
        return 0.0
    weights = [weight]
    for other in ledger.campaign_names():
        found = ledger.campaign(other)
        if found is None or other == record.name or found.account != record.account:
            continue
        if found.state in {"running", "queued"} and found.control == "run":
            weights.append(Campaign.model_validate(found.settings).pacing.weight)
    return weight / sum(weights)
