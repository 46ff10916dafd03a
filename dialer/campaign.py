"""Campaign operations: the library behind ``validate``, ``run``, ``resume`` and ``status``.

Each function opens nothing it does not close and takes ``now`` or a clock from its caller.
The CLI only parses, calls one of these, and prints.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from dialer.api.client import YapprClient
from dialer.api.ratelimit import RateBudget
from dialer.api.transport import Transport
from dialer.clock import Clock, ScaledClock, SystemClock, parse_instant
from dialer.config import Campaign, load_campaign
from dialer.dispatch import CampaignPlan, Dispatcher, Progress, RunOptions, RunResult
from dialer.dispatch.dnckeeper import DncKeeper
from dialer.dnc import DncEntry, DncIndex, read_suppression_file
from dialer.errors import ApiError, AuthError, ConfigError, DncStaleError
from dialer.leads import classify, give_back_memory, load_leads
from dialer.models import LeadStatus
from dialer.state import RetryPolicy
from dialer.store import CampaignRecord, Ledger
from dialer.window import CallingWindow

DEFAULT_BASE_URL = "https://api.goyappr.com"
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

    def __repr__(self) -> str:
        return f"Connection(base_url={self.base_url!r}, api_key=<hidden>)"


def connection_from_env(clock: Clock | None = None) -> Connection:
    """``YAPPR_BASE_URL`` and ``YAPPR_API_KEY`` from the environment."""
    base_url = os.environ.get("YAPPR_BASE_URL", DEFAULT_BASE_URL).rstrip("/")
    api_key = os.environ.get("YAPPR_API_KEY") or None
    return Connection(base_url, api_key, clock or SystemClock(), account=base_url)


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
    )
    return campaign, plan


async def dispatch(
    record: CampaignRecord,
    *,
    ledger: Ledger,
    connection: Connection,
    options: RunOptions,
    on_progress: Callable[[Progress], None] | None = None,
    on_dispatcher: Callable[[Dispatcher], None] | None = None,
) -> RunResult:
    """Refresh the DNC cache if stale, then run the dispatcher to its end."""
    campaign, plan = plan_for(record)
    account = connection.account
    async with open_client(
        connection, requests_per_minute=campaign.pacing.requests_per_minute
    ) as client:
        await ensure_fresh_dnc(
            ledger, client, account=account, max_age=plan.dnc_max_age, now=connection.clock.now()
        )

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
        dispatcher = Dispatcher(
            ledger=ledger,
            client=client,
            plan=plan,
            clock=connection.clock,
            keeper=keeper,
            options=options,
            on_progress=on_progress,
        )
        if on_dispatcher is not None:
            on_dispatcher(dispatcher)
        with ledger.lease(record.name):
            return await dispatcher.run()


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
    """What ``dialer status`` shows for one campaign."""
    record = find_campaign(ledger, name)
    next_due = ledger.next_due(name)
    return {
        "name": name,
        "state": record.state,
        "state_reason": record.state_reason,
        "counts": ledger.counts(name),
        "live_calls": ledger.in_flight(name),
        "next_due": None if next_due is None else _due_text(next_due),
    }
