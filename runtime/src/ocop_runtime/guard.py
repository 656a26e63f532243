"""Input every service refuses before routing: oversized bodies or headers, NUL characters.

PostgreSQL cannot store a NUL in text, so a NUL anywhere in a request (path, query, body)
would surface as a database error; it is refused up front with a 400 instead. Bodies are
bounded so that a client cannot make a service buffer arbitrary amounts of memory: small
(``max_body_bytes``) everywhere, larger (``max_upload_bytes``) only on the upload routes a
service names and only for a request whose token verified (the rate limiter, which runs first,
says so in the scope). A body over its bound is refused as soon as its ``Content-Length`` or
the bytes read so far show it, never read whole.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from ocop_runtime.auth import VERIFIED

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class InputGuard:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        max_header_bytes: int = 32 * 1024,
        *,
        max_upload_bytes: int | None = None,
        upload_paths: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.max_upload_bytes = max_upload_bytes or max_body_bytes
        self.upload_paths = frozenset(upload_paths)

    def limit(self, scope: Scope) -> int:
        verified = bool((scope.get("state") or {}).get(VERIFIED))
        if verified and scope.get("path") in self.upload_paths:
            return self.max_upload_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = bytes(scope.get("query_string", b""))
        if "\x00" in scope.get("path", "") or b"\x00" in query or b"%00" in query.lower():
            await _refuse(send, 400, "NUL characters are not accepted in paths or queries")
            return
        headers = scope.get("headers", [])
        if sum(len(k) + len(v) for k, v in headers) > self.max_header_bytes:
            await _refuse(send, 431, f"headers larger than {self.max_header_bytes} bytes")
            return
        limit = self.limit(scope)
        length = dict(headers).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _refuse(send, 413, f"the body is larger than {limit} bytes")
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(bytes(body), message, receive), send)
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await _refuse(send, 413, f"the body is larger than {limit} bytes")
                return
            more = bool(message.get("more_body"))
        if b"\x00" in body or b"\\u0000" in body:
            await _refuse(send, 400, "NUL characters are not accepted in request bodies")
            return
        await self.app(scope, _replay(bytes(body), None, receive), send)


def _replay(body: bytes, pending: Message | None, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if pending is not None:
            return pending
        return await receive()

    return replay


async def _refuse(send: Send, status: int, reason: str) -> None:
    payload = json.dumps({"detail": reason}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
