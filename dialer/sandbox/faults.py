"""Fault injection: what can go wrong between a client and the API, on demand and repeatably.

Each kind of fault happens at a different moment of a request, which is what a client must
survive:

* ``server_error_rate``: a 5xx *before* anything happens (retrying is harmless);
* ``lost_answer_rate``: the effect happens (a call is placed, a DNC entry written) and the
  client sees a 503 anyway (only a retry with the same Idempotency-Key is safe);
* ``drop_connection_rate``: the effect happens and the connection closes with no answer;
* ``latency_seconds``: clock seconds added to every matching request, before its effect;
* ``answer_delay_seconds``: clock seconds between the effect and the answer (a slow
  network back: the call rings before the dialer hears of it);
* ``rate_429_storm``: the next N matching requests are refused 429 RATE_LIMIT, nothing executed.

``paths`` limits faults to some routes: ``"POST /calls"`` (method and route) or ``"/calls"``
(any method). The routes are the templates, e.g. ``"/calls/{call_id}"``. Empty means all routes.
Random draws come from one generator seeded with the sandbox seed, so a run is repeatable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Fault settings; change the fields at any time, the next request sees them."""

    server_error_rate: float = 0.0
    lost_answer_rate: float = 0.0
    drop_connection_rate: float = 0.0
    latency_seconds: float = 0.0
    answer_delay_seconds: float = 0.0
    rate_429_storm: int = 0
    paths: tuple[str, ...] = ()
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def seed(self, seed: int) -> None:
        """Make the random draws repeatable for ``seed``."""
        self._rng = random.Random(f"faults:{seed}")

    def applies(self, method: str, route: str) -> bool:
        """Whether this request's route is one the faults target."""
        if not self.paths:
            return True
        return route in self.paths or f"{method} {route}" in self.paths

    def take_storm(self) -> bool:
        """Use up one forced 429, if any are left."""
        if self.rate_429_storm <= 0:
            return False
        self.rate_429_storm -= 1
        return True

    def server_error(self) -> bool:
        """Draw: fail this request before it has any effect."""
        return self._draw(self.server_error_rate)

    def lost_answer(self) -> str | None:
        """Draw after the effect: ``"503"``, ``"drop"`` or None (answer normally)."""
        if self._draw(self.lost_answer_rate):
            return "503"
        if self._draw(self.drop_connection_rate):
            return "drop"
        return None

    def _draw(self, rate: float) -> bool:
        # No draw at rate 0, so turning one fault on does not shift another's sequence.
        return rate > 0 and self._rng.random() < rate
