"""Dispatching: a campaign imported (or found) and run on its account to its end.

:func:`prepare_run` imports the campaign's sheet, or finds it imported already.
:func:`dispatch_all` marks campaigns to run on the connection's account; the process that holds
the account's lease dispatches all of them (one client, one line pool, a dispatcher each), any
other follows them there and takes the account over if that process stops first.
:func:`sync_campaign` follows a campaign's open calls and analyses, placing nothing.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from dialer.api.client import YapprClient
from dialer.campaign.connection import Connection, Stoppable, open_client
from dialer.campaign.dnccache import dnc_index, ensure_fresh_dnc, fresh_dnc_index, refresh_dnc
from dialer.campaign.intake import classify_campaign, existing_campaign, import_campaign
from dialer.campaign.overview import find_campaign
from dialer.config import Campaign, load_campaign
from dialer.dispatch import CampaignPlan, Dispatcher, Ending, Progress, RunOptions, RunResult
from dialer.dispatch.account import AccountScheduler
from dialer.dispatch.dnckeeper import DncKeeper
from dialer.dispatch.lines import LinePool
from dialer.dnc import DncIndex
from dialer.errors import ConfigError
from dialer.leads import give_back_memory
from dialer.models import LeadStatus
from dialer.state import RetryPolicy
from dialer.store import CampaignRecord, Ledger
from dialer.window import CallingWindow

log = logging.getLogger("dialer")


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
    with _frozen_heap():
        campaigns = [plan_for(find_campaign(ledger, n))[0] for n in names]
        rate = min(c.account.requests_per_minute or c.pacing.requests_per_minute for c in campaigns)
        lines = max(c.account.lines or c.pacing.max_live_calls for c in campaigns)
        async with open_client(connection, requests_per_minute=rate, ledger=ledger) as client:
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


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """What lives when a run starts (modules, settings, what intake left) lives through it:
    kept out of the collector's sight for the run, its collections do not walk all that
    again and again (at 200,000 leads that cost ~5% of the run). Handed back at the end, so
    whatever of it became garbage is collected after all."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


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
        async with open_client(connection, requests_per_minute=rate, ledger=ledger) as client:
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
