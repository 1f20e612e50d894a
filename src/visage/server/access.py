"""Who may use the server, from where, and how much: the access token, Host and Origin checks, request
body limits and per-client rates, in one ASGI middleware in front of every route.

Defaults follow Jupyter's: on a loopback bind no token is asked (only this machine can connect) but the
Host header must name the loopback, so a page on another site cannot reach the server by DNS
rebinding; beyond the loopback a token is generated when none is given, and the URL that carries it is
printed. The token travels once in the URL (`?token=`), then in an HttpOnly, SameSite=Strict cookie
set by the server (or an `Authorization: Bearer` header for API clients). A request whose Origin is not
the served origin (or one the operator allowed with `--cors-origin`) is refused, which also covers the
motion WebSocket and form posts that a foreign page could make without a CORS preflight.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import math
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

COOKIE = "visage-token"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
JSON_ROUTES = ("/api/offer", "/api/sessions/")  # POSTs that must be application/json (no text/plain tricks)
OPEN_ROUTES = ("/health",)


def default_max_sessions() -> int:
    """One conversation per CPU core: each renders its video in real time (bench/bench_live.py)."""
    return max(2, os.cpu_count() or 2)


def default_max_drawn_sessions() -> int:
    """Browser-drawn conversations: no rendering or video encoding on the server, only recognition, the
    brain, the voice and the motion (bench/bench_live_scale.py: 8 per core hold real time)."""
    return 8 * max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Limits:
    """How much one client may ask for; every figure is a flag of `visage serve` (see the README)."""

    max_body: int = 256 * 1024  # bytes of a JSON request (an SDP offer is 3-10 kB)
    max_say_chars: int = 5000  # characters of one `say` on the motion WebSocket
    max_text_chars: int = 2000  # characters of one typed turn (the page's field holds as many)
    offers_per_minute: int = 20  # per client address
    messages_per_minute: int = 120  # say / typed turns per client address
    uploads_per_minute: int = 12  # each is a face analysis of up to a second of CPU
    # motion streams running at once (no video is rendered for them: 10 clients ran at 16-19x real time
    # on 2 cores in the load check)
    max_motion_streams: int = field(default_factory=lambda: max(16, 4 * (os.cpu_count() or 2)))


@dataclass(frozen=True)
class Access:
    """The token (None: none asked), the Host names served (None: any) and the origins allowed besides
    the served one (CORS; none by default)."""

    token: str | None = None
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def for_bind(cls, host: str, token: str | None = None, no_token: bool = False,
                 allowed_hosts: tuple[str, ...] = (), cors_origins: tuple[str, ...] = ()) -> "Access":
        """The defaults for a server listening on `host`: loopback binds serve loopback names only and
        ask no token; wider binds ask a token (generated if none is given, unless `no_token`) and
        serve any Host name unless `allowed_hosts` names them."""
        if is_loopback(host):
            hosts: tuple[str, ...] | None = (*LOOPBACK_HOSTS, *allowed_hosts)
        else:
            hosts = tuple(allowed_hosts) or None
            if token is None and not no_token:
                token = secrets.token_urlsafe(24)
        return cls(token or None, hosts, tuple(o.rstrip("/") for o in cors_origins))


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


class RateLimiter:
    """At most `per_minute` events per key in any 60 s (a sliding window); `wait()` says how long until
    the next is allowed (0: now). Bounded: the oldest keys are forgotten past `max_keys`."""

    def __init__(self, per_minute: int, max_keys: int = 10_000) -> None:
        self.per_minute, self.max_keys = per_minute, max_keys
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """0 and the event counted, or the seconds until one more is allowed (nothing counted)."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            times = self._events.pop(key, None) or deque()
            while times and now - times[0] >= 60.0:
                times.popleft()
            self._events[key] = times  # most recently used last
            if len(self._events) > self.max_keys:
                self._events.pop(next(iter(self._events)))
            if len(times) >= self.per_minute:
                return max(0.1, 60.0 - (now - times[0]))
            times.append(now)
            return 0.0


def client_key(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class AccessGuard:
    """ASGI middleware: Host, Origin, token, JSON content type, body size and offer/upload rates."""

    def __init__(self, app, access: Access, limits: Limits) -> None:
        self.app, self.access, self.limits = app, access, limits
        self.offers = RateLimiter(limits.offers_per_minute)
        self.uploads = RateLimiter(limits.uploads_per_minute)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        host = headers.get("host", "")
        if not self._host_allowed(host):
            return await _refuse(scope, send, 400, "this server does not serve the host name "
                                 f"{_hostname(host)!r}; open it by its own address, or start it with --allowed-host")
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin, host, scope):
            return await _refuse(scope, send, 403, "requests from other sites are refused (Origin "
                                 "does not match this server; see --cors-origin)")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        authorized, from_query = self._authorized(headers, query)
        scope.setdefault("state", {})["authorized"] = authorized
        if not authorized and not path.startswith(OPEN_ROUTES):
            page = scope["type"] == "http" and path == "/"
            return await _refuse(scope, send, 401, "this server needs its access token: open the address "
                                 "`visage serve` printed (it ends in ?token=...), or send "
                                 "'Authorization: Bearer TOKEN'", html=page)
        if scope["type"] == "http" and scope["method"] == "POST":
            refused = self._post_refused(scope, headers, path)
            if refused is not None:
                return await _refuse(scope, send, *refused)
            if path.startswith(JSON_ROUTES):
                body = await _read_body(receive, self.limits.max_body)
                if body is None:
                    return await _refuse(scope, send, 413, f"the request is over {self.limits.max_body // 1024} kB")
                receive = _replay(body, receive)
        if from_query and scope["type"] == "http":
            send = _setting_cookie(send, self.access.token, scope.get("scheme") == "https")
        return await self.app(scope, receive, send)

    def _host_allowed(self, host: str) -> bool:
        allowed = self.access.allowed_hosts
        return allowed is None or _hostname(host) in allowed

    def _origin_allowed(self, origin: str, host: str, scope) -> bool:
        origin = origin.rstrip("/")
        if origin in self.access.cors_origins:
            return True
        parts = urlsplit(origin)
        return bool(parts.scheme in ("http", "https") and parts.netloc) and parts.netloc.lower() == host.lower()

    def _authorized(self, headers: dict, query: dict) -> tuple[bool, bool]:
        token = self.access.token
        if token is None:
            return True, False
        offered = []
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is no token
            pass
        if COOKIE in cookie:
            offered.append(cookie[COOKIE].value)
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            offered.append(authorization[7:].strip())
        for value in offered:
            if hmac.compare_digest(value.encode(), token.encode()):
                return True, False
        for value in query.get("token", [])[:1]:
            if hmac.compare_digest(value.encode(), token.encode()):
                return True, True
        return False, False

    def _post_refused(self, scope, headers: dict, path: str) -> tuple[int, str, dict] | None:
        length = headers.get("content-length", "")
        if path.startswith(JSON_ROUTES):
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return 415, "send this request as application/json", {}
            if length.isdigit() and int(length) > self.limits.max_body:
                return 413, f"the request is over {self.limits.max_body // 1024} kB", {}
        limiter = self.offers if path == "/api/offer" else self.uploads if path == "/api/avatars" else None
        if limiter is not None:
            wait = limiter.wait(client_key(scope))
            if wait:
                return 429, f"too many requests; try again in {math.ceil(wait)} s", {"retry-after": str(math.ceil(wait))}
        return None


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _read_body(receive, limit: int) -> bytes | None:
    """The whole request body, or None when it is over `limit` (whatever Content-Length said)."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return bytes(body)
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return bytes(body)


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _setting_cookie(send, token: str, secure: bool):
    """`send` that adds the token cookie to the response, after a visit with a valid ?token=."""
    value = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")

    async def sending(message):
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", value.encode())]}
        await send(message)

    return sending


async def _refuse(scope, send, status: int, message: str, extra: dict | None = None, html: bool = False) -> None:
    """Answer before any route runs: JSON {"error"} (an HTML sentence for the page), or a WebSocket close
    before the handshake (the client sees HTTP 403)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    if html:
        body = (f"<!doctype html><meta charset=utf-8><title>visage</title><p>{message}</p>").encode()
        kind = b"text/html; charset=utf-8"
    else:
        body, kind = json.dumps({"error": message}).encode(), b"application/json"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
