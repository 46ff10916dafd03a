"""The ``dialer`` group: global options, logging, and the one place errors end up."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from dialer import __version__, logs
from dialer.cli import failures
from dialer.cli.output import Output
from dialer.errors import DialerError

ENVIRONMENT = """\b
Environment:
  YAPPR_API_KEY   your Yappr API key; read from here only, never stored or logged
  YAPPR_BASE_URL  the API (default https://api.goyappr.com); a `dialer sandbox` works too
  DIALER_DB       the ledger, like --db (default dialer.db in the current folder)

\b
Exit codes: 0 finished (or waiting for a retry or window time), 1 bad input or
configuration, 2 usage, 3 interrupted (resumable), 4 stopped by the API (resumable).
Shell completion: eval "$(_DIALER_COMPLETE=bash_source dialer)" (zsh_source, fish_source).
"""


class DialerGroup(click.Group):
    """A group that turns every DialerError of its commands (and a stray Ctrl-C) into one
    ``error:`` line on stderr and its exit code: the only place that does."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DialerError as error:
            message, code = failures.describe(error)
            _output(ctx).error(message)
            ctx.exit(code)
        except KeyboardInterrupt:
            _output(ctx).error(failures.INTERRUPTED)
            ctx.exit(failures.EXIT_INTERRUPTED)


def _output(ctx: click.Context) -> Output:
    """The command's Output (a default one if the group failed before making it)."""
    found = ctx.find_object(Output)
    return found if found is not None else Output()


@click.group(
    cls=DialerGroup, epilog=ENVIRONMENT, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="dialer")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More on stderr: -v info (and a progress line when stderr is not a terminal), "
    "-vv every request.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only the result and errors.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also append the log here (info and up; numbers masked, never the key).",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool, log_file: Path | None) -> None:
    """Run outbound-call campaigns on Yappr from a spreadsheet of leads."""
    if verbose and quiet:
        raise click.UsageError("choose -v or -q, not both", ctx=ctx)
    ctx.obj = Output(quiet=quiet)
    undo = logs.configure(
        verbosity=-1 if quiet else verbose,
        log_file=log_file,
        secret=os.environ.get("YAPPR_API_KEY") or None,
    )
    ctx.call_on_close(undo)
