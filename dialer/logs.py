"""Logging for a command: set up once per command, numbers masked, no key ever written.

Levels: ``-q`` shows errors only, the default warnings, ``-v`` info (a progress line every few
seconds when stderr is not a terminal), ``-vv`` debug (every request). ``--log-file`` gets at
least info, whatever the terminal shows. Every record that reaches our handlers has its phone
numbers masked (``+97250*****67``) and anything that looks like an API key redacted, whichever
module wrote it and whatever it quoted (a server's error text, an exception).

Only the ``dialer`` logger is touched, and its level only lowered (never raised): a program that
configured the root logger itself (at DEBUG, say) still receives every record.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from dialer.api.masking import mask_text
from dialer.errors import InputError

ROOT = "dialer"
_KEY = re.compile(r"\bypr_[a-z]+_[A-Za-z0-9_-]+")
_CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def level_for(verbosity: int) -> int:
    """``-q`` is -1, nothing is 0, each ``-v`` adds one."""
    if verbosity < 0:
        return logging.ERROR
    return (logging.WARNING, logging.INFO)[verbosity] if verbosity < 2 else logging.DEBUG


class Masking(logging.Filter):
    """Rewrites each record's text with numbers masked and keys redacted, then lets it pass.

    The record itself is changed, so handlers further up (the root's) see the masked text too.
    """

    def __init__(self, secret: str | None = None) -> None:
        super().__init__()
        self.secret = secret

    def clean(self, text: str) -> str:
        """``text`` with every phone number masked and every key (or ``secret``) redacted."""
        return _KEY.sub("[redacted]", mask_text(text, secret=self.secret))

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.clean(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (a live panel or a test swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


class _File(logging.StreamHandler[TextIO]):
    """Appends to a file created owner-only (a log names campaigns and masked numbers)."""

    def __init__(self, path: Path) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as error:
            raise InputError(
                f"{path}: cannot open the log file ({error.strerror}); "
                "check that the folder exists and is writable"
            ) from error
        super().__init__(os.fdopen(fd, "a", encoding="utf-8"))
        self.setFormatter(logging.Formatter(_FILE_FORMAT))

    def close(self) -> None:
        self.stream.close()
        super().close()


class _Masker(logging.Handler):
    """Writes nothing: it is first on the ``dialer`` logger so that its filter masks every
    record, whatever its level, before any handler that writes (ours, or the root's)."""

    def __init__(self, secret: str | None) -> None:
        super().__init__(logging.NOTSET)
        self.addFilter(Masking(secret))

    def emit(self, record: logging.LogRecord) -> None:
        """Nothing to write: the filter did the work."""


def configure(
    *, verbosity: int = 0, log_file: Path | None = None, secret: str | None = None
) -> Callable[[], None]:
    """Attach our handlers to the ``dialer`` logger; returns the function that takes them off."""
    logger = logging.getLogger(ROOT)
    console = _Stderr()
    console.setLevel(level_for(verbosity))
    console.setFormatter(logging.Formatter(_CONSOLE_FORMAT, datefmt="%H:%M:%S"))
    writers: list[logging.Handler] = [console]
    if log_file is not None:
        writers.append(_File(log_file))
        writers[-1].setLevel(min(logging.INFO, console.level))
    handlers = [_Masker(secret), *writers]
    for handler in handlers:
        logger.addHandler(handler)
    previous = logger.level
    lowest = min(h.level for h in writers)
    if logger.getEffectiveLevel() > lowest:
        logger.setLevel(lowest)

    def undo() -> None:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(previous)

    return undo
