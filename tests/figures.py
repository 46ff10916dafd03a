"""Figures the reliability tests count as they go; printed at the end of the pytest run
(``make reliability`` shows them, and the README's "Reliability" section quotes them)."""

from __future__ import annotations

from collections import Counter

FIGURES: Counter[str] = Counter()


def record(name: str, amount: int = 1) -> None:
    """Add ``amount`` to the figure called ``name``."""
    FIGURES[name] += amount


def dialed_twice(legs: Counter[str], allowed: dict[str, int] | int) -> int:
    """Carrier legs beyond what each number was allowed (the number that must stay 0)."""
    limit = (lambda _: allowed) if isinstance(allowed, int) else allowed.get
    return sum(max(0, count - (limit(phone) or 0)) for phone, count in legs.items())
