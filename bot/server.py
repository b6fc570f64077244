"""The HTTP server `qunbot serve` runs: aiohttp behind a guard against hostile clients.

aiohttp bounds header sizes but not time: a client that sends half a request line and waits
(slowloris) holds a socket and a file descriptor for as long as it likes, and a few thousand of them
exhaust the process so WeCom's callbacks are refused. Three limits, all in [server]:

- header_timeout_seconds: a connection must deliver a request's headers within this long of being
  opened or of its previous request finishing (so an idle keep-alive connection is closed after it too).
  Trickling bytes does not extend it.
- body_timeout_seconds: a handler reading a body gives up after this long (408), see `read_body`.
- max_connections: at the cap, a new connection evicts the connection that has waited longest
  without sending a request; only if every connection is busy with a request is the new one refused.
  So a flood of idle connections cannot lock out a callback that sends its request at once.

The guard wraps each connection's aiohttp protocol (a proxy that forwards every protocol call);
`guarded`, around every route's handler (`guard_routes`), tells it when a request is being handled.
Connections made without the guard (the test client's server) pass through it untouched.
"""
from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import resource
import signal
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler, RequestPayloadError

from bot.appkeys import CONFIG
from bot.config import Config

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FD_RESERVE = 200  # descriptors kept for Redis pools, WeCom sessions, logs and files


class _Conn(asyncio.Protocol):
    """One accepted connection: forwards to aiohttp's protocol, tracks whether a request is running."""

    # data_received is a slot holding aiohttp's own bound method: the transport calls it directly,
    # without a forwarding frame per chunk received.
    __slots__ = ("guard", "inner", "transport", "since", "busy", "data_received")

    def __init__(self, guard: "ConnectionGuard", inner: RequestHandler) -> None:
        self.guard, self.inner = guard, inner
        self.transport: asyncio.Transport | None = None
        self.since = 0.0  # when it started waiting for a request (loop time)
        self.busy = 0
        self.data_received = inner.data_received

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.inner.connection_made(transport)
        self.guard._opened(self)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.guard._closed(self)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


_BY_PROTOCOL: dict[RequestHandler, _Conn] = {}  # aiohttp protocol -> its guarded connection


class ConnectionGuard:
    """Protocol factory around aiohttp's web.Server: header deadline and connection cap."""

    def __init__(self, server: web.Server, *, max_connections: int, header_timeout: float) -> None:
        self.server = server
        self.max_connections = max(1, max_connections)
        self.header_timeout = header_timeout
        self.open = 0
        self.idle: OrderedDict[_Conn, None] = OrderedDict()  # no request running, longest-waiting first
        self.closed_slow = 0  # closed for not sending headers in time
        self.evicted = 0  # closed to make room for a new connection
        self.refused = 0  # new connections closed because every slot was busy
        # One sweep a tick closes what waited too long, instead of a timer armed and cancelled per
        # request: the ack path pays two dict operations, not two timer-heap operations.
        self.tick = min(1.0, header_timeout / 4)
        self._sweeper: asyncio.TimerHandle | None = None
        self.loop_time = time.monotonic  # the event loop's clock (set to it at the first connection)

    def __call__(self) -> _Conn:
        return _Conn(self, self.server())

    def _opened(self, conn: _Conn) -> None:
        _BY_PROTOCOL[conn.inner] = conn
        self.open += 1
        if self._sweeper is None:
            loop = asyncio.get_running_loop()
            self.loop_time = loop.time
            self._sweeper = loop.call_later(self.tick, self._sweep)
        if self.open > self.max_connections:
            if self.idle:
                oldest = next(iter(self.idle))
                self.evicted += 1
                self._drop(oldest)
            else:
                self.refused += 1
                log.warning("connection cap %d reached with every connection busy; refusing one",
                            self.max_connections)
                conn.transport.abort()
                return
        self._wait_for_request(conn)

    def _closed(self, conn: _Conn) -> None:
        if _BY_PROTOCOL.pop(conn.inner, None) is None:
            return
        self.open -= 1
        self.idle.pop(conn, None)

    def _wait_for_request(self, conn: _Conn) -> None:
        conn.since = asyncio.get_running_loop().time()
        self.idle[conn] = None
        self.idle.move_to_end(conn)  # so `idle` stays in order of `since`

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() - self.header_timeout
        while self.idle:
            conn = next(iter(self.idle))
            if conn.since > deadline:
                break
            if conn.transport is not None and conn.transport.get_write_buffer_size():
                self._wait_for_request(conn)  # still sending its last response: not idle yet
                continue
            self.closed_slow += 1
            self._drop(conn)
        self._sweeper = loop.call_later(self.tick, self._sweep) if self.open else None

    def _drop(self, conn: _Conn) -> None:
        self.idle.pop(conn, None)
        if conn.transport is not None:
            conn.transport.abort()  # nothing of ours is pending on it; free the descriptor now

    # -- called by `guarded` -----------------------------------------------------------------------
    def request_started(self, conn: _Conn) -> None:
        conn.busy += 1
        self.idle.pop(conn, None)

    def request_finished(self, conn: _Conn) -> None:
        conn.busy -= 1
        if not conn.busy and conn.inner in _BY_PROTOCOL:
            conn.since = self.loop_time()
            self.idle[conn] = None  # popped when the request started, so this appends: `idle` stays in order


class _ProtocolLog(logging.LoggerAdapter):
    """aiohttp's per-connection logger. A request its HTTP parser refuses (a line past the size
    limit, garbage bytes) is the client's fault: one warning line, not a traceback per request."""

    def exception(self, msg, *args, exc_info=True, **kw) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self.logger.warning("%s: refused as malformed (%s)", msg % args, str(exc_info.message)[:120])
        else:
            self.logger.exception(msg, *args, exc_info=exc_info, **kw)


def guarded(handler: Handler) -> Handler:
    """`handler` marking the connection busy while it runs, and the last line against a handler
    bug: an unexpected exception becomes a logged 500 whose body says nothing about the code.

    Wrapped into each route (guard_routes) rather than run as an aiohttp middleware: an app with
    any middleware pays aiohttp's chain for it (a cached chain lookup and a second wrapper of its
    own) on every request, about 3 µs of a callback's ack.
    """
    async def run(request: web.Request) -> web.StreamResponse:
        conn = _BY_PROTOCOL.get(request.protocol)  # type: ignore[arg-type]
        if conn is not None:
            conn.guard.request_started(conn)
        try:
            return await handler(request)
        except (web.HTTPException, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("%s %s failed (from %s)", request.method, request.path, request.remote)
            if request.path.startswith("/api/"):
                return web.json_response({"error": "internal_error"}, status=500)
            return web.Response(status=500, text="internal error")
        finally:
            if conn is not None:
                conn.guard.request_finished(conn)

    functools.update_wrapper(run, handler, updated=())  # its name and doc, not its attributes
    run.guarded = True  # type: ignore[attr-defined]
    return run


def guard_routes(app: web.Application) -> None:
    """Wrap every route of `app` (its sub-apps' too) in `guarded`; call it once every route is added.
    Routes wrapped before are left as they are, so calling it again is harmless."""
    for route in app.router.routes():
        if not getattr(route.handler, "guarded", False):
            route._handler = guarded(route.handler)  # type: ignore[attr-defined]
            if route.handler is not route._handler:  # an aiohttp that keeps it elsewhere: say so at once
                raise RuntimeError("cannot wrap aiohttp route handlers")


# -- bodies ------------------------------------------------------------------------------------------
class BodyError(Exception):
    """A request body that cannot be had: `status` and `reason` are the answer to give."""
    status, reason = 400, "body incomplete"


class BodyTooLarge(BodyError):
    status, reason = 413, "body too large"


class BodyTimeout(BodyError):
    status, reason = 408, "body not received in time"


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as it passes `limit` (before reading the rest),
    BodyTimeout when it has not all arrived within [server] body_timeout_seconds, BodyError when
    the client hung up halfway."""
    length = request.content_length
    if length is not None and length > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    try:
        if length:
            # A callback's body usually came in with its headers: take what is buffered without a
            # timer (most of this function's cost per callback); wait, with the deadline, for the rest.
            head = request.content.read_nowait(length)
            if len(head) == length:
                return head
            chunks, size = [head], len(head)
        async with asyncio.timeout(request.app[CONFIG].server.body_timeout_seconds):
            async for chunk in request.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge
                chunks.append(chunk)
    except TimeoutError:
        log.warning("%s %s: body not received within the timeout (from %s)", request.method, request.path,
                    request.remote)
        raise BodyTimeout from None
    except (ConnectionError, RequestPayloadError):
        raise BodyError from None
    return b"".join(chunks)


def effective_max_connections(configured: int) -> int:
    """The configured cap, lowered to what the process's descriptor limit can actually hold."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and configured > soft - FD_RESERVE:
        capped = max(16, soft - FD_RESERVE)
        log.warning("[server] max_connections %d exceeds the descriptor limit %d; using %d",
                    configured, soft, capped)
        return capped
    return configured


# -- running it ----------------------------------------------------------------------------------------
class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through a ConnectionGuard."""

    __slots__ = ("host", "port", "guard")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, config: Config) -> None:
        super().__init__(runner)
        self.host, self.port = host, port
        s = config.server
        self.guard = ConnectionGuard(runner.server, max_connections=effective_max_connections(s.max_connections),
                                     header_timeout=s.header_timeout_seconds)

    @property
    def name(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self.guard, self.host, self.port, backlog=self._backlog,
                                                reuse_address=True)
        if not self.port:
            self.port = self._server.sockets[0].getsockname()[1]


async def start(app: web.Application, config: Config, port: int | None = None,
                host: str | None = None) -> tuple[web.AppRunner, GuardedSite]:
    """Run the app's start-up and listen on [server] host and port (or these, port 0 = any free one)."""
    # aiohttp's own keep-alive close is a backstop a second behind the guard's header deadline.
    host, port = host or config.server.host, config.server.port if port is None else port
    ensure_free(host, port)  # before start-up starts Redis and the scheduler for nothing
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=config.server.header_timeout_seconds + 1,
                           logger=_ProtocolLog(logging.getLogger("aiohttp.server"), {}))
    await runner.setup()
    site = GuardedSite(runner, host, port, config)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()  # taken in the meantime: stop what start-up started
        raise
    return runner, site


class PortInUse(OSError):
    """Another process listens on the configured port (said in one line by `qunbot serve`)."""


def ensure_free(host: str, port: int) -> None:
    if not port:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is no owner
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(exc.errno, f"port {port} on {host} is in use ({exc.strerror}): another qunbot "
                                       "(a second `make run`?) or another program listens there; stop it, or "
                                       "set [server] port / pass --port") from None


async def serve(app: web.Application, config: Config, host: str | None = None, port: int | None = None) -> None:
    """`qunbot serve`: listen until SIGTERM or SIGINT, then shut down in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner, site = await start(app, config, port=port, host=host)
    log.info("listening on %s (max %d connections, header timeout %ss, body timeout %ss)", site.name,
             site.guard.max_connections, config.server.header_timeout_seconds, config.server.body_timeout_seconds)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def same_secret(given: str, expected: str) -> bool:
    """A constant-time comparison of a secret someone sent with ours; an empty ours never matches.
    Header or form bytes that were not UTF-8 arrive as lone surrogates; surrogateescape turns them
    back into the bytes sent, which then simply do not match."""
    return bool(expected) and hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())
