"""Where a command's words go: its result on stdout; progress, notes and errors on stderr.

So ``dialer status --json | jq`` and ``dialer run x.toml > result.txt`` get the result alone,
and a person still sees what is going on.
"""

from __future__ import annotations

import json

import click
from rich.console import Console, RenderableType
from rich.text import Text

from dialer.console import ProgressView


class Output:
    """The two streams of one command; ``quiet`` (``-q``) silences notes and progress."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.stdout = Console(highlight=False)
        self.stderr = Console(stderr=True, highlight=False)

    def show(self, renderable: RenderableType) -> None:
        """A table (or any rich renderable) of the result."""
        self.stdout.print(renderable)

    def say(self, text: str) -> None:
        """One plain line of the result: no markup, never wrapped (paths stay whole)."""
        self.stdout.print(text, markup=False, highlight=False, soft_wrap=True)

    def json(self, data: object) -> None:
        """The result as JSON (dates and paths as strings)."""
        click.echo(json.dumps(data, indent=2, default=str))

    def note(self, text: str) -> None:
        """A line for the person watching (not part of the result); silent under ``-q``."""
        if not self.quiet:
            self.stderr.print(text, markup=False, highlight=False, soft_wrap=True)

    def alert(self, text: str) -> None:
        """A line the person must see even under ``-q`` (a run that stopped early)."""
        self.stderr.print(text, markup=False, highlight=False, soft_wrap=True)

    def warn(self, text: str) -> None:
        """``warning: ...`` on stderr, also under ``-q`` (money or a limit is at stake)."""
        self.stderr.print(Text.assemble(("warning: ", "bold yellow"), text), soft_wrap=True)

    def error(self, text: str) -> None:
        """``error: ...``; the text is plain (a ``[pacing]`` in it is a section, not markup)."""
        self.stderr.print(Text.assemble(("error: ", "bold red"), text), soft_wrap=True)

    def progress(self) -> ProgressView:
        """The progress display of a run, on stderr (no live panel under ``-q``)."""
        return ProgressView(self.stderr, live=not self.quiet)


#: Gives a command the Output its group made (a default one when called on its own).
pass_output = click.make_pass_decorator(Output, ensure=True)
