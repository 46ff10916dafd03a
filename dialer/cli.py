"""The command line: parse, call the library, print. Nothing else lives here.

Exit codes (DESIGN.md §4): 0 finished; 1 bad input or config; 2 usage; 3 interrupted,
resumable; 4 stopped by the API, resumable.
"""

from __future__ import annotations

import click

from dialer import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dialer")
def cli() -> None:
    """Run outbound-call campaigns on Yappr from a spreadsheet of leads."""


def main() -> None:
    """Console-script entry point."""
    cli()
