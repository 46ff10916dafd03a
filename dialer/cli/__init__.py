"""The command line: parse, call the library, print. Nothing else lives here.

``app`` holds the group, its global options and the one place an error becomes a message
and an exit code (``failures``); the commands live in ``campaigns``, ``dnc``, ``samples``
and ``server``; ``output`` says what goes to stdout (the result) and to stderr (the rest).
"""

from __future__ import annotations

from dialer.cli.app import cli
from dialer.cli.campaigns import (
    pause,
    report,
    resume,
    retry,
    run,
    status,
    stop,
    sync,
    validate,
)
from dialer.cli.dnc import dnc
from dialer.cli.failures import EXIT_INTERRUPTED
from dialer.cli.samples import demo, init
from dialer.cli.server import sandbox_server

__all__ = ["cli", "main"]

for _command in (
    validate,
    run,
    resume,
    pause,
    stop,
    sync,
    status,
    report,
    retry,
    dnc,
    sandbox_server,
    demo,
    init,
):
    cli.add_command(_command)


def main() -> None:
    """The ``dialer`` console script."""
    try:
        cli(prog_name="dialer")
    except KeyboardInterrupt:  # before the group could handle it (while importing, say)
        raise SystemExit(EXIT_INTERRUPTED) from None
