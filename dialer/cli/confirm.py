"""Asking a person before something that cannot be taken back.

A question needs a person: when stdin is not a terminal (cron, CI, a pipe) nobody can answer,
so the command refuses with a usage error (exit 2) that names ``--yes``, instead of waiting
forever or going ahead. Going ahead unasked is the unsafe choice: the questions guard real
calls to many people at real cost, and calls to numbers that asked never to be called.
"""

from __future__ import annotations

import sys

import click

from dialer.api.models import DncEntry


def stdin_is_terminal() -> bool:
    """Whether a person can answer (tests replace this)."""
    return sys.stdin.isatty()


def ask(question: str, *, refusal: str) -> bool:
    """Yes or no on stderr (default no); without a terminal, a usage error naming --yes."""
    if not stdin_is_terminal():
        raise click.UsageError(
            f"{refusal} without confirmation, and stdin is not a terminal to ask on; "
            "add --yes to go ahead",
            ctx=click.get_current_context(silent=True),
        )
    return click.confirm(question, default=False, err=True)


def to_call(name: str, leads: int) -> bool:
    """``run`` with a live key and many leads to call."""
    return ask(
        f"Call {leads:,} leads of {name!r} with a live key (real calls, real cost)?",
        refusal=f"not calling {leads:,} leads of {name!r} with a live key",
    )


def to_remove(entry: DncEntry) -> bool:
    """``dnc remove``: the number may be called again afterwards."""
    what = f"{entry.phone_number} (id {entry.id})"
    scope = f"agents {', '.join(entry.agent_ids)}" if entry.agent_ids else "all agents"
    return ask(
        f"Remove {what} from the do-not-call list? Calls to it ({scope}) become possible again.",
        refusal=f"not removing {what} from the do-not-call list",
    )


def to_stop(name: str) -> bool:
    """``stop``: the leads not yet called of the campaign will never be called."""
    return ask(
        f"Stop campaign {name!r}? Its leads not yet called will not be called.",
        refusal=f"not stopping campaign {name!r}",
    )
