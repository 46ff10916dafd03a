"""The one way a sandbox handler refuses a request: raise :class:`Fail`."""

from __future__ import annotations

from dialer.sandbox.http import ApiReply, json


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

    def reply(self) -> ApiReply:
        """The JSON answer a client sees."""
        return error_reply(self.status, self.code, self.message, headers=self.headers)


def error_reply(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> ApiReply:
    """An error body in the contract's shape (docs/api.md §1)."""
    return json({"error": message, "code": code}, status=status, headers=headers)
