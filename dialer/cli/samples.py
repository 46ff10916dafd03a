"""``dialer demo`` and ``dialer init``: the packaged samples, run or written out."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import click

from dialer import runner, samples
from dialer.cli.campaigns import run_hooks, show_outcome
from dialer.cli.output import Output, pass_output
from dialer.dispatch import RunOptions
from dialer.store import Ledger


@click.command()
@click.option(
    "--campaign",
    "campaign_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Run this campaign instead of the built-in sample (a NAME-dnc.txt beside it seeds "
    "the sandbox's do-not-call list).",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=1.0),
    default=100.0,
    show_default=True,
    help="How many times faster than real time the sandbox runs.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the sample's files, the demo's ledger and its reports.",
)
@pass_output
@click.pass_context
def demo(
    ctx: click.Context, output: Output, campaign_file: Path | None, time_scale: float, out: Path
) -> None:
    """Run a sample campaign end to end against the built-in sandbox (no real calls).

    The sample (300 messy leads) is copied into --out first, so it can be opened afterwards;
    the ledger and the reports (CSV, XLSX, JSON, HTML) are written there too.
    """
    campaign = campaign_file or samples.copy_demo(out)
    db_path = _fresh_ledger(out)
    output.note(f"Demo: {campaign} on the built-in sandbox at x{time_scale:g}; no real calls.")
    options = RunOptions(max_wait=timedelta(hours=2), sync_interval=5.0)
    spec = runner.SandboxSpec(time_scale, campaign.with_name(f"{campaign.stem}-dnc.txt"))
    with Ledger(db_path) as ledger:
        with output.progress() as view:
            hooks = run_hooks(output, view, ask=False)
            (outcome,) = asyncio.run(
                runner.using(
                    spec,
                    lambda connection: runner.run_campaigns(
                        [campaign],
                        ledger=ledger,
                        connection=connection,
                        options=options,
                        hooks=hooks,
                    ),
                )
            )
        code = show_outcome(output, ledger, outcome, as_json=False)
        for path in runner.write_reports(ledger, outcome.name, out):
            output.say(f"Report written: {path}")
    ctx.exit(code)


def _fresh_ledger(folder: Path) -> Path:
    """``folder/demo.db``, with what an earlier demo left there removed."""
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "demo.db"
    for stale in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        stale.unlink(missing_ok=True)
    return db_path


@click.command()
@click.argument("name", default="my-campaign")
@click.option("--force", is_flag=True, help="Overwrite NAME.toml and NAME-leads.csv if present.")
@pass_output
def init(output: Output, name: str, force: bool) -> None:
    """Write a commented campaign file and a sample sheet to start from.

    NAME.toml and NAME-leads.csv go into the current folder; they validate and run on the
    built-in sandbox as they are. Existing files are kept unless --force.
    """
    starter = samples.write_starter(name, Path("."), force=force)
    output.say(f"Wrote {starter.campaign} and {starter.sheet}.")
    output.say(f"Try it: dialer validate {starter.campaign} --sandbox")
    output.say(f"Then set agent_id and from in {starter.campaign} to your own for real calls.")
