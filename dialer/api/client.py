"""The async Yappr client: typed requests and answers, one rate budget, safe retries.

Every request goes through :meth:`YapprClient._send`: take a slot from the shared
:class:`~dialer.api.ratelimit.RateBudget`, send through the transport, feed the rate headers
back, map an error answer through :mod:`dialer.api.errormap`. A ``RetryableError`` (429, 5xx,
409 in progress, no answer) is resent with the same body bytes and the same ``Idempotency-Key``,
after ``Retry-After`` or a jittered backoff on the injected clock; after ``max_retries`` it
propagates and the dispatcher decides. Other 4xx are never retried.

The API key lives in a ``SecretStr``: it is in the ``Authorization`` header and nowhere else
(not in a repr, a log line or an exception message). Logs mask phone numbers.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, TypedDict, TypeVar, Unpack
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, SecretStr, ValidationError

from dialer import __version__
from dialer.api.errormap import error_from_answer
from dialer.api.masking import mask_phone, mask_text
from dialer.api.models import (
    Agent,
    Billing,
    Call,
    CallRequest,
    CallRequestState,
    DncEntry,
    Pagination,
    PhoneNumber,
    PlaceCallResult,
    RateInfo,
    UnknownAnswer,
    canonical_json,
    parse_place_call,
)
from dialer.api.ratelimit import Priority, RateBudget
from dialer.api.retry import Backoff
from dialer.api.servertime import ServerTime
from dialer.api.transport import AiohttpTransport, Transport
from dialer.clock import Clock, SystemClock, isoformat
from dialer.errors import (
    ApiError,
    ConfigError,
    NotFound,
    NotSent,
    RateLimited,
    RetryableError,
    ServerError,
)

log = logging.getLogger("dialer.api")

M = TypeVar("M", bound=BaseModel)

#: A last look before a request leaves (once the budget gave it a slot): a reason not to send
#: it now, or None to send it.
Gate = Callable[[], str | None]

MAX_PAGE_SIZE = 100
#: 429s waited out for one request before giving up (each waits its Retry-After).
RATE_LIMIT_WAITS = 60


class CallFilters(TypedDict, total=False):
    """The GET /calls filters (docs/api.md §6) that the client sends."""

    agent_id: str | None
    callee: str | None
    caller: str | None
    status: str | None
    direction: str | None
    created_from: datetime | None
    created_to: datetime | None
    updated_since: datetime | None


class _Unset:
    """The type of :data:`UNSET`: "leave this field as it is"."""

    def __repr__(self) -> str:
        return "UNSET"


#: Marks a PATCH field that is not sent (``None`` means "clear it").
UNSET = _Unset()


@dataclass(frozen=True, slots=True)
class _Answer:
    """A 2xx answer: status, headers and the parsed JSON body (None when empty)."""

    status: int
    headers: Mapping[str, str]
    data: Any


def check_idempotency_key(key: str) -> None:
    """1–200 visible ASCII characters, no spaces (docs/api.md §3.3); anything else is our bug."""
    if not 1 <= len(key) <= 200 or any(not "!" <= ch <= "~" for ch in key):
        raise ValueError("Idempotency-Key must be 1-200 visible ASCII characters, no spaces")


def _id_path(prefix: str, resource_id: str) -> str:
    """``/prefix/<id>`` with the id escaped, so an id can never change the route."""
    return f"{prefix}/{quote(resource_id, safe='')}"


def _when(moment: datetime | None) -> str | None:
    """An instant in the API's ISO form, or None."""
    return None if moment is None else isoformat(moment)


def call_query(
    *,
    agent_id: str | None = None,
    callee: str | None = None,
    caller: str | None = None,
    status: str | None = None,
    direction: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    updated_since: datetime | None = None,
) -> dict[str, str]:
    """GET /calls filters as query parameters; unset ones are left out (empty ones are refused)."""
    params = {
        "agent_id": agent_id,
        "callee": callee,
        "caller": caller,
        "status": status,
        "direction": direction,
        "from": _when(created_from),
        "to": _when(created_to),
        "updated_since": _when(updated_since),
    }
    return {key: value for key, value in params.items() if value is not None}


def _more_pages(rows: int, page: Pagination, *, limit: int, offset: int) -> bool:
    """Whether another page may follow this one (``has_more`` wins when the server sends it)."""
    if rows == 0 or page.has_more is False:
        return False
    if page.next_cursor:
        return True
    if page.total is not None and offset + rows >= page.total:
        return False
    return page.has_more is True or rows >= limit


class YapprClient:
    """An async client for one API key; use as ``async with YapprClient(...) as client:``.

    ``clock`` drives every wait (retries, the rate budget); pass the sandbox's ScaledClock in
    tests. ``budget`` defaults to a 60/min budget on that clock; share one budget between
    clients of the same key. ``transport`` defaults to aiohttp with a ``timeout`` in wall-clock
    seconds; the client closes whichever transport it has when it closes.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        clock: Clock | None = None,
        budget: RateBudget | None = None,
        transport: Transport | None = None,
        max_retries: int = 8,
        timeout: float = 30.0,
        backoff: Backoff | None = None,
        pool_size: int = 16,
        rate_limit_waits: int | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigError(f"YAPPR_BASE_URL must be an http(s) URL, got {base_url!r}")
        if not api_key.strip():
            raise ConfigError("no API key: set YAPPR_API_KEY")
        self.base_url = base_url.rstrip("/")
        self._key = SecretStr(api_key.strip())
        self.clock: Clock = clock or (budget.clock if budget else SystemClock())
        self.budget = budget or RateBudget(clock=self.clock)
        self._transport: Transport = transport or AiohttpTransport(
            pool_size=pool_size, timeout=timeout
        )
        self.max_retries = max_retries
        # 429s waited out per request: by default many (a 429 executed nothing), none when
        # the caller asked for no retries at all.
        self.rate_limit_waits = (
            rate_limit_waits
            if rate_limit_waits is not None
            else (max(max_retries, RATE_LIMIT_WAITS) if max_retries else 0)
        )
        self.backoff = backoff or Backoff()
        self._stats: Counter[int] = Counter()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> YapprClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the transport and its connections."""
        await self._transport.aclose()

    def __repr__(self) -> str:
        return f"YapprClient(base_url={self.base_url!r})"

    @property
    def server_time(self) -> ServerTime:
        """What the answers' ``Date`` headers told us of the API's clock."""
        return self.budget.server_time

    @property
    def rate(self) -> RateInfo:
        """What the latest answer's rate-limit headers said."""
        return self.budget.latest

    @property
    def stats(self) -> dict[int, int]:
        """Requests sent so far by HTTP status; 0 counts requests that got no answer."""
        return dict(self._stats)

    # ------------------------------------------------------------------ the one way out

    def _headers(self, *, has_body: bool, idempotency_key: str | None) -> dict[str, str]:
        """Auth, content type, and the Idempotency-Key when there is one."""
        headers = {
            "Authorization": f"Bearer {self._key.get_secret_value()}",
            "Accept": "application/json",
            "User-Agent": f"dialer/{__version__}",
        }
        if has_body:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        idempotency_key: str | None = None,
        gone_ok_after_retry: bool = False,
        priority: Priority = Priority.NORMAL,
        gate: Gate | None = None,
        order: float = 0.0,
    ) -> _Answer:
        """One logical request: retried while retryable, with these exact bytes and key.

        ``gone_ok_after_retry``: a 404 after a resend means the lost first try took effect
        (a DELETE): report success instead. ``gate`` is asked before every try, once the
        budget gave it a slot; a reason from it ends the request with :class:`NotSent`.
        """
        headers = self._headers(has_body=body is not None, idempotency_key=idempotency_key)
        attempt = waits = 0
        while True:
            try:
                return await self._attempt(
                    method, path, headers, body, params, (priority, order), gate
                )
            except NotFound:
                if gone_ok_after_retry and attempt + waits > 0:
                    return _Answer(404, {}, None)
                raise
            except ApiError as error:
                # After a try whose effect is unknown (5xx, no answer, still in progress),
                # every later answer is marked: a final "no" then does not prove that
                # nothing happened (the first try may have placed the call).
                error.after_uncertain = attempt > 0
                if not isinstance(error, RetryableError):
                    raise
                await self._retry_or_raise(error, attempt, waits)
                if isinstance(error, RateLimited):
                    waits += 1
                else:
                    attempt += 1

    async def _retry_or_raise(self, error: RetryableError, attempt: int, waits: int) -> None:
        """Wait before the next try, or re-raise when the allowance is used up."""
        if isinstance(error, RateLimited):
            # Nothing in a 429 was executed: waiting it out is always safe, so a storm of
            # them gets its own, larger allowance than failures do.
            if waits >= self.rate_limit_waits:
                log.warning("gave up after %d rate-limit waits: %s", waits, error)
                raise error
        elif attempt >= self.max_retries:
            log.warning("gave up after %d retries: %s", attempt, error)
            raise error
        await self._pause_before_retry(error, attempt)

    async def _pause_before_retry(self, error: RetryableError, attempt: int) -> None:
        """Wait Retry-After (or the backoff) on the clock before resending."""
        wait = self.backoff.wait_for(error, attempt)
        log.info("retry %d in %.2f s after: %s", attempt + 1, wait, error)
        await self.clock.sleep(wait)

    async def _attempt(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes | None,
        params: Mapping[str, str] | None,
        place: tuple[Priority, float],
        gate: Gate | None,
    ) -> _Answer:
        """Send once under the budget (``place``: priority, then order within it); a 2xx
        comes back parsed, anything else raises."""
        where = f"{method} {path}"
        async with self.budget.slot(*place) as slot:
            reason = gate() if gate is not None else None
            if reason is not None:
                slot.cancel()
                raise NotSent(f"{where} not sent: {reason}")
            sent = self.clock.time()
            try:
                raw = await self._transport.request(
                    method, self.base_url + path, headers=headers, json_body=body, params=params
                )
            except RetryableError:
                self._stats[0] += 1
                raise
            received = self.clock.time()
            self.server_time.observe(raw.headers.get("Date"), sent=sent, received=received)
            info = slot.observe(raw.status, raw.headers)
        self._stats[raw.status] += 1
        log.debug("%s -> %d", mask_text(where), raw.status)
        if not 200 <= raw.status < 300:
            raise error_from_answer(
                raw.status,
                raw.body,
                where=where,
                retry_after=info.retry_after,
                secret=self._key.get_secret_value(),
            )
        return _Answer(raw.status, raw.headers, self._json(raw.body, where))

    @staticmethod
    def _json(body: bytes, where: str) -> Any:
        """The body as JSON; a 2xx we cannot read is retried like a 5xx (same key, same body)."""
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise ServerError(
                f"{where}: the API answered 2xx with a body that is not JSON"
            ) from None

    @staticmethod
    def _model(model: type[M], data: Any, where: str) -> M:
        """Validate one object; a shape we cannot read is an API error, never a foreign one."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            fields = sorted({".".join(map(str, err["loc"])) or "(body)" for err in exc.errors()})
            raise ApiError(
                f"{where}: the answer is not a {model.__name__} (fields: {', '.join(fields)}); "
                "the API may have changed: update the dialer",
                status=200,
            ) from None

    def _models(self, model: type[M], data: Any, where: str) -> list[M]:
        """Validate ``{"data": [...]}`` (or a bare list) into models."""
        rows = data.get("data", []) if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise ApiError(f"{where}: the answer has no list of {model.__name__}", status=200)
        return [self._model(model, row, where) for row in rows]

    # ------------------------------------------------------------------ calls

    async def place_call(
        self,
        request: CallRequest,
        *,
        idempotency_key: str,
        gate: Gate | None = None,
        order: float = 0.0,
    ) -> PlaceCallResult:
        """POST /calls. Retries reuse the same bytes and key, so at most one call is placed.

        Returns one of the answer shapes of docs/api.md §3.1; raises the mapped error otherwise.
        ``gate`` is asked right before every try (see :meth:`_send`): the dispatcher checks
        there that the callee's window is still open when the request really leaves.
        ``order`` places it among the calls waiting for the budget (lower goes first: the
        account's campaigns take turns by weight).
        """
        check_idempotency_key(idempotency_key)
        body = request.body()  # built once: every retry sends exactly these bytes
        log.debug("POST /calls to %s, Idempotency-Key %s", mask_phone(request.to), idempotency_key)
        answer = await self._send(
            "POST",
            "/calls",
            body=body,
            idempotency_key=idempotency_key,
            priority=Priority.CALL,
            gate=gate,
            order=order,
        )
        data = answer.data if isinstance(answer.data, dict) else {}
        replayed = answer.headers.get("Idempotency-Replayed", "").lower() == "true"
        result = self._place_call_result(answer.status, data, replayed=replayed)
        log.info(
            "POST /calls to %s -> %d %s%s",
            mask_phone(request.to),
            answer.status,
            type(result).__name__,
            " (replayed)" if replayed else "",
        )
        return result

    @staticmethod
    def _place_call_result(status: int, data: dict[str, Any], *, replayed: bool) -> PlaceCallResult:
        """The typed answer; a 2xx we cannot read is kept raw (accepted: never resend it)."""
        try:
            return parse_place_call(status, data, replayed=replayed)
        except ValidationError:
            return UnknownAnswer(http_status=status, replayed=replayed, raw=data)

    async def list_calls_page(
        self,
        *,
        limit: int = MAX_PAGE_SIZE,
        offset: int = 0,
        cursor: str | None = None,
        priority: Priority = Priority.NORMAL,
        **filters: Unpack[CallFilters],
    ) -> tuple[list[Call], Pagination]:
        """One page of GET /calls (``limit`` ≤ 100); ``cursor`` replaces ``offset`` when given."""
        return await self._calls_page(
            call_query(**filters), limit=limit, offset=offset, cursor=cursor, priority=priority
        )

    async def _calls_page(
        self,
        filters: Mapping[str, str],
        *,
        limit: int,
        offset: int,
        cursor: str | None,
        priority: Priority,
    ) -> tuple[list[Call], Pagination]:
        """GET /calls with the filters (re-sent on every page, as the cursor requires)."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be 1-{MAX_PAGE_SIZE}, got {limit}")
        paging = {"cursor": cursor} if cursor else {"offset": str(offset)}
        params = {**filters, "limit": str(limit), **paging}
        answer = await self._send("GET", "/calls", params=params, priority=priority)
        calls = self._models(Call, answer.data, "GET /calls")
        raw_page = answer.data.get("pagination") if isinstance(answer.data, dict) else None
        return calls, self._model(Pagination, raw_page or {}, "GET /calls")

    async def list_calls(
        self,
        *,
        page_size: int = MAX_PAGE_SIZE,
        priority: Priority = Priority.NORMAL,
        **filters: Unpack[CallFilters],
    ) -> AsyncIterator[Call]:
        """Every call matching the filters, over all pages (cursor when offered, else offset)."""
        async for calls in self.list_call_pages(page_size=page_size, priority=priority, **filters):
            for call in calls:
                yield call

    async def list_call_pages(
        self,
        *,
        page_size: int = MAX_PAGE_SIZE,
        priority: Priority = Priority.NORMAL,
        **filters: Unpack[CallFilters],
    ) -> AsyncIterator[list[Call]]:
        """The calls matching the filters, a page at a time (cursor when offered, else
        offset)."""
        query = call_query(**filters)
        offset, cursor = 0, None
        while True:
            calls, page = await self._calls_page(
                query, limit=page_size, offset=offset, cursor=cursor, priority=priority
            )
            yield calls
            if not _more_pages(len(calls), page, limit=page_size, offset=offset):
                return
            offset, cursor = offset + len(calls), page.next_cursor

    async def get_call(self, call_id: str) -> Call:
        """GET /calls/{id}; raises NotFound when the call is not in this workspace."""
        answer = await self._send("GET", _id_path("/calls", call_id))
        return self._model(Call, answer.data, "GET /calls/{id}")

    async def get_call_request(
        self, request_id: str, *, priority: Priority = Priority.NORMAL
    ) -> CallRequestState:
        """GET /call-requests/{id}: where a workflow agent's request stands."""
        answer = await self._send("GET", _id_path("/call-requests", request_id), priority=priority)
        return self._model(CallRequestState, answer.data, "GET /call-requests/{id}")

    async def cancel_call_request(self, request_id: str) -> bool:
        """Cancel a workflow call request (idempotent); False when placement already started."""
        path = _id_path("/call-requests", request_id) + "/cancel"
        try:
            await self._send("POST", path)
        except ApiError as error:
            if error.code == "WORKFLOW_DISPATCH_ALREADY_CLAIMED":
                return False
            raise
        return True

    # ------------------------------------------------------------------ do-not-call

    async def list_dnc(self) -> list[DncEntry]:
        """Every company DNC entry, newest first (the list is not paginated)."""
        answer = await self._send("GET", "/do-not-call")
        return self._models(DncEntry, answer.data, "GET /do-not-call")

    async def lookup_dnc(self, phone: str) -> DncEntry | None:
        """The entry for ``phone``, or None when it is not on the list (404)."""
        try:
            answer = await self._send("GET", "/do-not-call", params={"phone": phone})
        except NotFound:
            return None
        data = answer.data
        if isinstance(data, dict) and isinstance(data.get("data"), list):  # a list answer
            data = data["data"][0] if data["data"] else None
        return None if data is None else self._model(DncEntry, data, "GET /do-not-call?phone")

    async def add_dnc(
        self,
        phone: str,
        *,
        reason: str | None = None,
        expires_at: datetime | None = None,
        agent_ids: Sequence[str] = (),
    ) -> tuple[DncEntry, bool]:
        """POST /do-not-call. Returns (entry, created): an existing number comes back unchanged
        with created False. No ``agent_ids`` means a global entry."""
        fields: dict[str, Any] = {"phone_number": phone, "reason": reason}
        fields["expires_at"] = _when(expires_at)
        if agent_ids:
            fields["agent_ids"] = list(agent_ids)
        body = canonical_json({k: v for k, v in fields.items() if v is not None})
        answer = await self._send("POST", "/do-not-call", body=body)
        return self._model(DncEntry, answer.data, "POST /do-not-call"), answer.status == 201

    async def update_dnc(
        self,
        entry_id: str,
        *,
        reason: str | _Unset | None = UNSET,
        expires_at: datetime | _Unset | None = UNSET,
        agent_ids: Sequence[str] | _Unset = UNSET,
    ) -> DncEntry:
        """PATCH only the fields given (``expires_at=None`` makes it permanent, ``agent_ids=()``
        global); the phone number is immutable and never sent."""
        fields: dict[str, Any] = {}
        if not isinstance(reason, _Unset):
            fields["reason"] = reason
        if not isinstance(expires_at, _Unset):
            fields["expires_at"] = _when(expires_at)
        if not isinstance(agent_ids, _Unset):
            fields["agent_ids"] = list(agent_ids)
        if not fields:
            raise ValueError("update_dnc needs at least one of reason, expires_at, agent_ids")
        path = _id_path("/do-not-call", entry_id)
        answer = await self._send("PATCH", path, body=canonical_json(fields))
        return self._model(DncEntry, answer.data, "PATCH /do-not-call/{id}")

    async def delete_dnc(self, entry_id: str) -> None:
        """DELETE /do-not-call/{id}; a 404 after a resend means the first try worked."""
        path = _id_path("/do-not-call", entry_id)
        await self._send("DELETE", path, gone_ok_after_retry=True)

    # ------------------------------------------------------------------ agents, numbers

    async def server_info(self) -> dict[str, Any]:
        """GET / (the endpoint index). The built-in sandbox adds a ``sandbox`` object with its
        ``time_scale`` and ``now``, so a dialer in another process can share its clock."""
        answer = await self._send("GET", "/")
        return answer.data if isinstance(answer.data, dict) else {}

    async def list_agents(self) -> list[Agent]:
        """Every agent of the workspace, over all pages."""
        agents: list[Agent] = []
        while True:
            params = {"limit": str(MAX_PAGE_SIZE), "offset": str(len(agents))}
            answer = await self._send("GET", "/agents", params=params)
            rows = self._models(Agent, answer.data, "GET /agents")
            agents.extend(rows)
            raw_page = answer.data.get("pagination") if isinstance(answer.data, dict) else None
            page = self._model(Pagination, raw_page or {}, "GET /agents")
            if not _more_pages(
                len(rows), page, limit=MAX_PAGE_SIZE, offset=len(agents) - len(rows)
            ):
                return agents

    async def get_agent(self, agent_id: str) -> Agent:
        """GET /agents/{id}."""
        answer = await self._send("GET", _id_path("/agents", agent_id))
        return self._model(Agent, answer.data, "GET /agents/{id}")

    async def list_phone_numbers(self) -> list[PhoneNumber]:
        """GET /phone-numbers: the company's numbers (not paginated)."""
        answer = await self._send("GET", "/phone-numbers")
        return self._models(PhoneNumber, answer.data, "GET /phone-numbers")

    # ------------------------------------------------------------------ billing

    async def get_billing(self) -> Billing:
        """GET /billing (scope ``billing:read``): the balance, payment method and budget."""
        answer = await self._send("GET", "/billing")
        return self._model(Billing, answer.data, "GET /billing")
