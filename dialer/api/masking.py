"""Keep phone numbers and the API key out of log lines and error messages.

Logs mask every E.164-looking number (``+972501234567`` → ``+97250*****67``, the rule of
:func:`dialer.phones.mask`): enough to tell two leads apart in a log, not enough to call one.
The API key is scrubbed from any text the server echoes back, in case a proxy repeats it.
"""

from __future__ import annotations

import re

from dialer.phones import mask as mask_phone

__all__ = ["mask_phone", "mask_text"]

# E.164 as the API speaks it, also percent-encoded in a query string (%2B972...).
_PHONE = re.compile(r"(?:\+|%2B)\d{7,15}")


def _mask_match(match: re.Match[str]) -> str:
    """Mask one number found in free text (an encoded ``%2B`` counts as the ``+``)."""
    text = match.group(0).replace("%2B", "+")
    return mask_phone(text)


def mask_text(text: str, *, secret: str | None = None) -> str:
    """Mask every phone number in ``text`` and replace ``secret`` (the API key) if it appears."""
    if secret:
        text = text.replace(secret, "[redacted]")
    return _PHONE.sub(_mask_match, text)
