"""Options several commands share, and the parameter types behind them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from dialer.config import codec_name
from dialer.errors import ConfigError
from dialer.runner import SandboxSpec

#: The epilog of every command that talks to the API.
API_EPILOG = (
    "Talks to the API at YAPPR_BASE_URL (default https://api.goyappr.com) with the key in "
    "YAPPR_API_KEY, or to a built-in sandbox with --sandbox."
)


_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def to_duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d`` -> timedelta (an option callback)."""
    text = value.strip()
    try:
        return timedelta(seconds=float(text[:-1]) * _SECONDS[text[-1]])
    except (KeyError, ValueError, IndexError, OverflowError):
        raise click.BadParameter(
            f"{text!r} is not a duration like 90s, 15m, 2h or 1d", ctx, param
        ) from None


FILE = click.Path(dir_okay=False, path_type=Path)

db_option = click.option(
    "--db",
    "db_path",
    type=FILE,
    envvar="DIALER_DB",
    show_envvar=True,
    default="dialer.db",
    show_default=True,
    help="The SQLite ledger.",
)
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON on stdout."
)
leads_option = click.option("--leads", type=FILE, help="Use this sheet instead of the file's.")


def _to_codec(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--encoding`` as a codec name; an unknown one is a configuration error (exit 1)
    naming the flag."""
    del ctx, param
    if value is None:
        return None
    try:
        return codec_name(value)
    except ValueError as error:
        raise ConfigError(f"--encoding: {error}") from None


encoding_option = click.option(
    "--encoding",
    metavar="NAME",
    callback=_to_codec,
    help="The sheet's text encoding (e.g. windows-1252); overrides detection and the "
    "campaign's encoding key.",
)
max_wait_option = click.option(
    "--max-wait",
    metavar="DURATION",
    callback=to_duration,
    default="15m",
    show_default=True,
    help="Keep running while the next due lead is at most this far away (90s, 15m, 2h).",
)
sync_option = click.option(
    "--sync-interval",
    type=click.FloatRange(min=0.5),
    default=5.0,
    show_default=True,
    help="Seconds between outcome syncs while calls are live.",
)
sandbox_option = click.option(
    "--sandbox", is_flag=True, help="Run against a built-in sandbox, in-process (no real calls)."
)
time_scale_option = click.option(
    "--time-scale",
    type=click.FloatRange(min=0.001),
    default=1.0,
    show_default=True,
    help="Sandbox only: how many times faster than real time calls run.",
)


def sandbox_spec(sandbox: bool, time_scale: float = 1.0) -> SandboxSpec | None:
    """What ``--sandbox`` (and ``--time-scale``) ask for; None: the environment's API."""
    return SandboxSpec(time_scale=time_scale) if sandbox else None


def to_instant(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """``--start-at``: an ISO date-time (no offset: UTC) -> an aware instant."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date-time like 2026-12-01T09:00 or 2026-12-01T09:00+02:00",
            ctx,
            param,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


start_at_option = click.option(
    "--start-at",
    metavar="WHEN",
    callback=to_instant,
    help="Place nothing before this instant (ISO date-time; without an offset it is UTC).",
)


analysis_wait_option = click.option(
    "--analysis-wait",
    metavar="DURATION",
    callback=to_duration,
    default="3m",
    show_default=True,
    help="With nothing else to do, wait this long for the last calls' analyses (what the AI "
    "learned); `dialer sync` fetches the rest later.",
)
transcripts_option = click.option(
    "--with-transcripts",
    is_flag=True,
    help="Also store each call's transcript in the ledger (large and personal: off by default).",
)
