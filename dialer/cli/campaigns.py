"""The campaign commands: validate, run, resume, status, report, retry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from dialer import campaign as ops
from dialer import estimate, operations, reports, runner
from dialer.cli import confirm
from dialer.cli.failures import ENDING_EXIT
from dialer.cli.options import (
    API_EPILOG,
    FILE,
    analysis_wait_option,
    db_option,
    encoding_option,
    json_option,
    leads_option,
    max_wait_option,
    sandbox_option,
    sandbox_spec,
    start_at_option,
    sync_option,
    time_scale_option,
    to_duration,
    transcripts_option,
)
from dialer.cli.output import Output, pass_output
from dialer.console import (
    ProgressView,
    campaigns_table,
    counts_table,
    ending_message,
    validation_table,
)
from dialer.dispatch import RunOptions
from dialer.errors import ConfigError
from dialer.store import Ledger

campaign_argument = click.argument("campaign_file", type=FILE)


@click.command(epilog=API_EPILOG)
@campaign_argument
@leads_option
@click.option(
    "--out", "out_path", type=FILE, help="Per-row status CSV (default: NAME.validation.csv)."
)
@click.option("--sandbox", is_flag=True, help="Check DNC and billing against a built-in sandbox.")
@db_option
@encoding_option
@json_option
@pass_output
def validate(
    output: Output,
    campaign_file: Path,
    leads: Path | None,
    out_path: Path | None,
    sandbox: bool,
    db_path: Path,
    encoding: str | None,
    as_json: bool,
) -> None:
    """Preflight a campaign: read, normalise, dedupe, screen; estimate time and cost
    (ledger history, the balance from GET /billing). Places no call."""
    with Ledger(db_path) as ledger:
        found = asyncio.run(
            runner.using(
                sandbox_spec(sandbox),
                lambda connection: runner.validate(
                    campaign_file,
                    ledger=ledger,
                    connection=connection,
                    leads=leads,
                    out=out_path,
                    encoding=encoding,
                ),
            )
        )
    if as_json:
        output.json(
            {
                "campaign_file": campaign_file,
                "counts": found.summary,
                "statuses_csv": found.statuses_csv,
                "encoding": found.encoding,
                "estimate": dict(estimate.lines(found.estimate)),
                "warnings": found.estimate.warnings,
            }
        )
        return
    if found.encoding:
        output.say(f"encoding: {found.encoding}")
    output.show(validation_table(f"validate {campaign_file}", found.summary))
    output.say(f"Per-row statuses written to {found.statuses_csv}")
    output.show(estimate.table(found.estimate))
    for warning in found.estimate.warnings:
        output.warn(warning)


@click.command(epilog=API_EPILOG)
@click.argument("campaign_files", nargs=-1, required=True, type=FILE)
@leads_option
@db_option
@max_wait_option
@sync_option
@sandbox_option
@time_scale_option
@start_at_option
@analysis_wait_option
@transcripts_option
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help=f"Do not ask before calling more than {runner.CONFIRM_ABOVE} leads with a live key "
    "(needed when stdin is not a terminal).",
)
@encoding_option
@json_option
@pass_output
@click.pass_context
def run(
    ctx: click.Context,
    output: Output,
    campaign_files: tuple[Path, ...],
    leads: Path | None,
    db_path: Path,
    max_wait: timedelta,
    sync_interval: float,
    sandbox: bool,
    time_scale: float,
    start_at: datetime | None,
    analysis_wait: timedelta,
    with_transcripts: bool,
    yes: bool,
    encoding: str | None,
    as_json: bool,
) -> None:
    """Import campaigns' leads and call them (continues one already imported).

    Several campaign files run together on one account, sharing its lines and requests by
    their [pacing] weight. A run started while another dialer process dispatches the same
    account joins it: that process picks the campaign up, and this one follows it to its end.
    """
    if len(campaign_files) > 1 and (leads or encoding):
        raise click.UsageError("--leads and --encoding go with one campaign file at a time")
    options = RunOptions(
        max_wait=max_wait,
        sync_interval=sync_interval,
        analysis_wait=analysis_wait,
        with_transcripts=with_transcripts,
    )
    with Ledger(db_path) as ledger:
        with output.progress() as view:  # closed before the result is printed
            hooks = run_hooks(output, view, ask=not yes)
            outcomes = asyncio.run(
                runner.using(
                    sandbox_spec(sandbox, time_scale),
                    lambda connection: runner.run_campaigns(
                        campaign_files,
                        ledger=ledger,
                        connection=connection,
                        options=options,
                        leads=leads,
                        hooks=hooks,
                        encoding=encoding,
                        start_at=start_at,
                    ),
                )
            )
        codes = [show_outcome(output, ledger, o, as_json=as_json) for o in outcomes]
        ctx.exit(max(codes))


@click.command(epilog=API_EPILOG)
@click.argument("name")
@db_option
@click.option(
    "--redial-unknown",
    is_flag=True,
    help="Resend calls whose fate is unknown after a crash (same key while the API keeps it).",
)
@max_wait_option
@sync_option
@sandbox_option
@time_scale_option
@start_at_option
@analysis_wait_option
@transcripts_option
@json_option
@pass_output
@click.pass_context
def resume(
    ctx: click.Context,
    output: Output,
    name: str,
    db_path: Path,
    redial_unknown: bool,
    max_wait: timedelta,
    sync_interval: float,
    sandbox: bool,
    time_scale: float,
    start_at: datetime | None,
    analysis_wait: timedelta,
    with_transcripts: bool,
    as_json: bool,
) -> None:
    """Continue a campaign exactly where it stopped.

    A paused campaign dials again. With another dialer process already dispatching its
    account, that process picks it up and this one follows it to its end."""
    options = RunOptions(
        max_wait=max_wait,
        sync_interval=sync_interval,
        redial_unknown=redial_unknown,
        analysis_wait=analysis_wait,
        with_transcripts=with_transcripts,
    )
    with Ledger(db_path) as ledger:
        if start_at is not None:
            ledger.set_start_at(ops.find_campaign(ledger, name).name, start_at)
        with output.progress() as view:  # closed before the result is printed
            hooks = run_hooks(output, view, ask=False)
            outcome = asyncio.run(
                runner.using(
                    sandbox_spec(sandbox, time_scale),
                    lambda connection: runner.resume_campaign(
                        name, ledger=ledger, connection=connection, options=options, hooks=hooks
                    ),
                )
            )
        ctx.exit(show_outcome(output, ledger, outcome, as_json=as_json))


def run_hooks(output: Output, view: ProgressView, *, ask: bool) -> runner.Hooks:
    """What a run shows the person (progress, a stop under way), and whether it may ask them
    before calling many leads with a live key."""
    return runner.Hooks(
        progress=view,
        stopping=lambda: output.note(
            "Stopping: finishing requests in flight (Ctrl-C again to cancel)..."
        ),
        consent=confirm.to_call if ask else None,
    )


def show_outcome(
    output: Output, ledger: Ledger, outcome: runner.RunOutcome, *, as_json: bool
) -> int:
    """Print how a run ended (tables, or JSON) and return its exit code.

    The closing line goes to stdout when the run finished or waits, else to stderr.
    """
    result, name = outcome.result, outcome.name
    stats = reports.summary(ledger, name)
    message = ending_message(result, name)
    code = ENDING_EXIT[result.ending]
    if as_json:
        output.json(_outcome_json(outcome, stats, message, code))
    else:
        if outcome.continued:
            output.say(f"Campaign {name!r} was already imported from this sheet: continued it.")
        output.show(counts_table(f"campaign {name}", result.counts))
        output.show(reports.summary_table(stats))
        if code == 0:
            output.say(message)
    if code != 0:
        output.alert(message)
    return code


def _outcome_json(
    outcome: runner.RunOutcome, stats: dict[str, Any], message: str, code: int
) -> dict[str, Any]:
    """``run --json`` / ``resume --json``."""
    result = outcome.result
    return {
        "campaign": outcome.name,
        "ending": result.ending,
        "continued": outcome.continued,
        "exit_code": code,
        "message": message,
        "next_due": result.next_due.isoformat() if result.next_due else None,
        "stop_error": str(result.stop_error) if result.stop_error else None,
        "counts": result.counts,
        "summary": stats,
    }


@click.command()
@click.argument("name", required=False)
@db_option
@json_option
@pass_output
def status(output: Output, name: str | None, db_path: Path, as_json: bool) -> None:
    """Show every campaign of the ledger, or one in detail.

    Without NAME: each campaign's state (running, paused, scheduled, finished...), live
    calls, share of its account and next opening. With NAME: leads per status and the
    outcome summary."""
    with Ledger(db_path) as ledger:
        names = [name] if name else ledger.campaign_names()
        found = [ops.campaign_status(ledger, n) for n in names]
        for report in found:
            report["summary"] = reports.summary(ledger, report["name"])
    if as_json:
        output.json(found if name is None else found[0])
        return
    if not found:
        output.say(f"No campaigns in {db_path} yet.")
        return
    if name is None:
        output.show(campaigns_table(found))
        return
    report = found[0]
    output.show(counts_table(f"campaign {report['name']} ({report['state']})", report["counts"]))
    reason = f" · {report['state_reason']}" if report["state_reason"] else ""
    reason += f" · next: {report['next_step']}" if report["next_step"] else ""
    next_due = report["next_due"] or "none"
    output.say(
        f"live calls: {report['live_calls']} · share: {report['share']:.0%} · "
        f"next opening: {next_due}{reason}"
    )
    output.show(reports.summary_table(report["summary"]))


@click.command(epilog=API_EPILOG)
@click.argument("name")
@db_option
@sandbox_option
@time_scale_option
@analysis_wait_option
@transcripts_option
@json_option
@pass_output
@click.pass_context
def sync(
    ctx: click.Context,
    output: Output,
    name: str,
    db_path: Path,
    sandbox: bool,
    time_scale: float,
    analysis_wait: timedelta,
    with_transcripts: bool,
    as_json: bool,
) -> None:
    """Fetch what calls learned since the run ended, placing no call.

    Follows the campaign's calls still open and the analyses still to come (disposition,
    summary, extracted data, cost) in bulk, waiting at most --analysis-wait for the rest."""
    options = RunOptions(analysis_wait=analysis_wait, with_transcripts=with_transcripts)
    with Ledger(db_path) as ledger:
        record = ops.find_campaign(ledger, name)
        result = asyncio.run(
            runner.using(
                sandbox_spec(sandbox, time_scale),
                lambda connection: ops.sync_campaign(
                    record, ledger=ledger, connection=connection, options=options
                ),
            )
        )
        waiting = ledger.awaiting_analysis_count(name)
    if as_json:
        output.json({"campaign": name, "counts": result.counts, "analyses_pending": waiting})
        return
    output.show(counts_table(f"campaign {name}", result.counts))
    output.say(
        f"Synced {name!r}: {waiting} call analyses still pending."
        if waiting
        else f"Synced {name!r}: every call's analysis is in."
    )
    ctx.exit(0)


@click.command()
@click.argument("name")
@db_option
@json_option
@pass_output
def pause(output: Output, name: str, db_path: Path, as_json: bool) -> None:
    """Pause a campaign: no new call within seconds.

    Calls in flight finish and are recorded; `dialer resume NAME` dials again."""
    with Ledger(db_path) as ledger:
        done = operations.pause_campaign(ledger, name, now=datetime.now(UTC))
    _say_control(output, done, as_json=as_json)


@click.command()
@click.argument("name")
@db_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask first.")
@json_option
@pass_output
def stop(output: Output, name: str, db_path: Path, yes: bool, as_json: bool) -> None:
    """Stop a campaign for good.

    Every lead not yet called ends cancelled (with a reason); calls in flight finish and
    are recorded."""
    if not yes and not confirm.to_stop(name):
        raise ConfigError(f"campaign {name!r} was not stopped")
    with Ledger(db_path) as ledger:
        done = operations.stop_campaign(ledger, name, now=datetime.now(UTC))
    _say_control(output, done, as_json=as_json)


def _say_control(output: Output, done: operations.ControlResult, *, as_json: bool) -> None:
    if as_json:
        output.json(
            {
                "campaign": done.name,
                "control": done.control,
                "cancelled": done.cancelled,
                "running": done.running,
            }
        )
        return
    verb = {"pause": "paused", "stop": "stopped"}[done.control]
    where = (
        "the dialer running it applies this within seconds; calls in flight finish"
        if done.running
        else "no dialer is running it now"
    )
    output.say(f"Campaign {done.name!r} {verb}: {where}.")
    if done.cancelled:
        output.say(f"{done.cancelled:,} lead(s) not yet called were cancelled.")
    if done.control == "pause":
        output.say(f"Run `dialer resume {done.name}` to dial again.")


@click.command()
@click.argument("name")
@click.option(
    "--out",
    required=True,
    type=FILE,
    help="The report file: .csv, .xlsx, .json or .html.",
)
@db_option
@json_option
@pass_output
def report(output: Output, name: str, out: Path, db_path: Path, as_json: bool) -> None:
    """Write a campaign's outcome report (one row per input row)."""
    with Ledger(db_path) as ledger:
        reports.export(ledger, name, out)
        stats = reports.summary(ledger, name)
    if as_json:
        output.json({"campaign": name, "report": out, "summary": stats})
        return
    output.show(reports.summary_table(stats))
    if stats["still_running"]:
        output.say("The campaign is still running: the report shows what is known so far.")
    output.say(f"Report written: {out}")


@click.command()
@click.argument("name")
@click.option(
    "--status",
    "statuses",
    help="Outcomes to call again, comma-separated (no_answer,busy); exhausted leads whose "
    "last outcome is one of them come back too.",
)
@click.option(
    "--disposition",
    "dispositions",
    multiple=True,
    help='Call again the leads whose last call got this disposition, e.g. "Call Back Later" '
    '(any case; repeatable or comma-separated). "Do Not Call" never comes back.',
)
@click.option(
    "--after",
    metavar="DURATION",
    default="0s",
    show_default=True,
    callback=to_duration,
    help="Wait this long first (90s, 15m, 2h, 1d).",
)
@db_option
@json_option
@pass_output
def retry(
    output: Output,
    name: str,
    statuses: str | None,
    dispositions: tuple[str, ...],
    after: timedelta,
    db_path: Path,
    as_json: bool,
) -> None:
    """Recycle finished leads into a new round; `dialer resume NAME` then calls them."""
    if not statuses and not dispositions:
        raise click.UsageError(
            'say which leads to call again: --status no_answer,busy, --disposition "Call Back '
            'Later", or both'
        )
    wanted = operations.parse_statuses(statuses) if statuses else []
    labels = operations.parse_dispositions(dispositions) if dispositions else []
    with Ledger(db_path) as ledger:
        result = operations.recycle(
            ledger, name, wanted, after=after, now=datetime.now(UTC), dispositions=labels
        )
    if as_json:
        output.json(
            {
                "campaign": name,
                "statuses": wanted,
                "dispositions": labels,
                "recycled": result.recycled,
                "due_at": result.due_at.isoformat(timespec="seconds"),
                "held_back": dict(sorted(result.skipped.items())),
                "unmatched_dispositions": list(result.unmatched),
            }
        )
        return
    _say_recycled(output, name, result, wanted, labels)


def _say_recycled(
    output: Output,
    name: str,
    result: operations.RecycleResult,
    statuses: list[str],
    labels: list[str],
) -> None:
    """What ``retry`` did: moved, held back (why), and dispositions no lead has."""
    asked = ", ".join(statuses)
    if labels:
        quoted = ", ".join(f'"{label}"' for label in labels)
        asked += ("; " if asked else "") + f"disposition {quoted}"
    output.say(
        f"Recycled {result.recycled:,} lead(s) of {name} ({asked}) into a new "
        f"round, due from {result.due_at.isoformat(timespec='seconds')}."
    )
    for why, count in sorted(result.skipped.items()):
        output.say(f"Held back {count:,}: {why}.")
    for label in result.unmatched:
        known = ", ".join(f'"{seen}"' for seen in result.seen) or "none yet"
        output.say(f'No finished lead\'s last call has disposition "{label}" (they have: {known}).')
    if result.recycled:
        output.say(f"Run `dialer resume {name}` to call them.")
