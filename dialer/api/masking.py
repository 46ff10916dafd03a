"""Keep phone numbers and the API key out of log lines and error messages.

Logs mask every E.164-looking number (``+972501234567`` → ``+97250*****67``): enough to tell
two leads apart in a log, not enough to call one. The API key is scrubbed from any text the
server echoes back, in case a proxy or a buggy server repeats it.
"""

from __future__ import annotations

import re

# E.164 as the API speaks it, also percent-encoded in a query string (%2B972...).
_PHONE = re.compile(r"(?:\+|%2B)\d{7,15}")
_KEEP_HEAD = 6  # "+" and the first five digits: country and operator prefix
_KEEP_TAIL = 2


def mask_phone(phone: str) -> str:
    """``+972501234567`` → ``+97250*****67``; short values are masked whole."""
    if len(phone) <= _KEEP_HEAD + _KEEP_TAIL:
        return "*" * len(phone)
    hidden = len(phone) - _KEEP_HEAD - _KEEP_TAIL
    return phone[:_KEEP_HEAD] + "*" * hidden + phone[-_KEEP_TAIL:]


def _mask_match(match: re.Match[str]) -> str:
    """Mask one number found in free text (an encoded ``%2B`` counts as the ``+``)."""
    text = match.group(0).replace("%2B", "+")
    return mask_phone(text)


def mask_text(text: str, *, secret: str | None = None) -> str:
    """Mask every phone number in ``text`` and replace ``secret`` (the API key) if it appears."""
    if secret:
        text = text.replace(secret, "[redacted]")
    return _PHONE.sub(_mask_match, text)
