"""The one way a sandbox handler refuses a request: raise :class:`Fail`."""

from __future__ import annotations

import json

from aiohttp import web


class Fail(Exception):
    """An API error answer: HTTP ``status`` with the body ``{"error": message, "code": code}``."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self) -> web.Response:
        """The JSON answer a client sees."""
        return error_response(self.status, self.code, self.message, headers=self.headers)


def error_response(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    """An error body in the contract's shape (CONTRACT §1)."""
    body = json.dumps({"error": message, "code": code})
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)
