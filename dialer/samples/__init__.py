"""Sample files that ship inside the package, so an installed ``dialer`` has them anywhere.

- the demo (``demo.toml``, ``demo-leads.csv``, ``demo-dnc.txt``): ``dialer demo`` copies them
  into its output folder and runs them there, so a person can open what was run;
- the starter (``starter.toml``, ``starter-leads.csv``): ``dialer init NAME`` writes them as
  ``NAME.toml`` and ``NAME-leads.csv``, a commented campaign that validates on the sandbox.

The repository's ``campaigns/demo*`` are links to these files: there is one copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template

from dialer.errors import ConfigError, InputError
from dialer.sandbox.catalog import AGENT_ID, FROM_NUMBERS

#: The demo's files, the campaign first; the sheet and the DNC seed sit beside it.
DEMO_FILES = ("demo.toml", "demo-leads.csv", "demo-dnc.txt")
#: A name ``dialer init`` accepts: it becomes file names and the campaign's name.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def read(name: str) -> bytes:
    """One packaged sample file's bytes."""
    return files(__name__).joinpath(name).read_bytes()


def copy_demo(folder: Path) -> Path:
    """Write the demo's files into ``folder`` (made if missing, files replaced); the campaign."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in DEMO_FILES:
            (folder / name).write_bytes(read(name))
    except OSError as error:
        raise InputError(
            f"{folder}: cannot write the demo files ({error.strerror or error}); "
            "choose another folder with --out"
        ) from error
    return folder / DEMO_FILES[0]


@dataclass(frozen=True, slots=True)
class Starter:
    """What ``dialer init`` wrote."""

    campaign: Path
    sheet: Path


def write_starter(name: str, folder: Path, *, force: bool = False) -> Starter:
    """Write ``NAME.toml`` (commented) and ``NAME-leads.csv`` into ``folder``.

    Existing files are kept unless ``force``: nothing is written if either one exists.
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"{name!r} cannot name a campaign file: use letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit)"
        )
    starter = Starter(folder / f"{name}.toml", folder / f"{name}-leads.csv")
    taken = [p for p in (starter.campaign, starter.sheet) if p.exists()]
    if taken and not force:
        verb = "exists" if len(taken) == 1 else "exist"
        raise ConfigError(
            f"{' and '.join(map(str, taken))} already {verb}; nothing was written. "
            "Choose another name, or add --force to overwrite"
        )
    text = Template(read("starter.toml").decode("utf-8")).substitute(
        name=name, leads=starter.sheet.name, agent_id=AGENT_ID, from_number=FROM_NUMBERS[0]
    )
    try:
        starter.campaign.write_text(text, encoding="utf-8")
        starter.sheet.write_bytes(read("starter-leads.csv"))
    except OSError as error:
        raise InputError(f"{folder}: cannot write the starter files ({error.strerror})") from error
    return starter
