"""Campaign operations: the library behind ``validate``, ``run``, ``resume`` and ``status``.

Each function opens nothing it does not close and takes ``now`` or a clock from its caller.
The CLI only parses, calls one of these, and prints.

One module per job:

* :mod:`~dialer.campaign.connection` — how to reach the API: the connection, its account,
  a client with one rate budget;
* :mod:`~dialer.campaign.dnccache` — the ledger's cached company DNC list, kept fresh, and the
  index a campaign screens with;
* :mod:`~dialer.campaign.intake` — a lead sheet read, classified and imported into the ledger;
* :mod:`~dialer.campaign.dispatching` — a campaign prepared and run on its account (lease,
  join, follow), or synced;
* :mod:`~dialer.campaign.overview` — what ``validate`` and ``status`` show.

The public names of all five are re-exported here (``from dialer import campaign as ops``).
``IMPORT_CHUNK`` is not: it is read in :mod:`~dialer.campaign.intake`, so set it there.
"""

from __future__ import annotations

from dialer.campaign.connection import (
    DEFAULT_BASE_URL,
    Connection,
    Stoppable,
    account_of,
    connection_from_env,
    open_client,
    with_server_clock,
)
from dialer.campaign.dispatching import (
    dispatch,
    dispatch_all,
    plan_for,
    prepare_run,
    sync_campaign,
)
from dialer.campaign.dnccache import (
    dnc_index,
    ensure_fresh_dnc,
    fresh_dnc_index,
    is_fresh,
    refresh_dnc,
)
from dialer.campaign.intake import (
    classify_campaign,
    existing_campaign,
    file_sha256,
    import_campaign,
)
from dialer.campaign.overview import (
    STATUS_COLUMNS,
    campaign_status,
    dispatched_now,
    find_campaign,
    validate_campaign,
    validation_summary,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "STATUS_COLUMNS",
    "Connection",
    "Stoppable",
    "account_of",
    "campaign_status",
    "classify_campaign",
    "connection_from_env",
    "dispatch",
    "dispatch_all",
    "dispatched_now",
    "dnc_index",
    "ensure_fresh_dnc",
    "existing_campaign",
    "file_sha256",
    "find_campaign",
    "fresh_dnc_index",
    "import_campaign",
    "is_fresh",
    "open_client",
    "plan_for",
    "prepare_run",
    "refresh_dnc",
    "sync_campaign",
    "validate_campaign",
    "validation_summary",
    "with_server_clock",
]
