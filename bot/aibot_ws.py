"""智能机器人 long connection: staff chat with no public URL (`[wecom.aibot] mode = "websocket"`).

qunbot dials WeCom (docs/aibot-websocket.md has the frames and their sources), subscribes with
bot_id and secret, pings every heartbeat_seconds, and turns each `aibot_msg_callback` into the same
Message the URL callback makes (bot/wecom.py aibot_message), put into the same inbox under the same
dedupe id, so a message WeCom delivers twice is handled once whichever way it came.

One connection per bot across every process: WeCom keeps only the newest subscription and kicks the
older one, so processes that each dialled would take turns kicking each other. The process holding
a Redis lease (store/leases.py) is the only one that dials; the others wait to take over when it
stops renewing (crash) or releases it (shutdown).

Replies: a worker in any process renders a reply to the outbox; the sender's "aibot_ws" channel
appends the frame to a Redis stream (store/aibot_ws.py) and only then acks the outbox entry. The
connection holder pumps that stream onto its socket and deletes an entry once WeCom acks the frame,
so a reply produced anywhere reaches the one socket, and one that was in flight when a holder died
is sent by the next holder (see ReplyQueue).

What "acked" means here: the protocol has no ack for a callback, so a frame counts as received once
read off the socket. It is handed to an in-process queue that keeps trying the inbox until Redis
takes it (the reader never waits on Redis, so heartbeats keep flowing during a Redis outage);
shutdown waits for that queue to drain.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from redis.exceptions import ResponseError

from bot import wecom
from bot.config import Config
from bot.consumer import consumer_name
from bot.loops import Backoff, Outage, unreachable
from bot.message import Message
from store import Store
from store.aibot_ws import ReplyEntry, ReplyQueue
from store.leases import Lease

log = logging.getLogger(__name__)

CHANNEL = "aibot_ws"  # the sender channel of replies that go back over the socket
SUBSCRIBE, PING = "aibot_subscribe", "ping"
RESPOND, WELCOME, PUSH = "aibot_respond_msg", "aibot_respond_welcome_msg", "aibot_send_msg"
CALLBACKS = ("aibot_msg_callback", "aibot_event_callback")
ACK_TIMEOUT = 5.0  # the official SDK's reply-ack timeout
SUBSCRIBE_TIMEOUT = 10.0
MISSED_PINGS = 2  # unanswered pings in a row before the connection counts as dead (as the SDK does)
CONFLICT = 6000  # reported as "retry this frame" by other clients; retried a few times
REPLY_WINDOW = 24 * 3600  # WeCom accepts replies to a callback for this long


def req_id(prefix: str) -> str:
    return f"{prefix}_{int(time.time() * 1000)}_{secrets.token_hex(4)}"


def target_of(msg: Message) -> str | None:
    """The `to` of a socket reply to `msg`: kind|chat_type|chatid|req_id, or None when `msg` did
    not come over the socket. kind is "w" for enter_chat (answered with a welcome frame), else "r";
    chatid is where a proactive push goes if the req_id is refused (the group, or the user)."""
    rid = msg.raw.get("req_id")
    if msg.channel != "aibot" or not rid:
        return None
    kind = "w" if msg.kind == "event" and msg.event == "enter_chat" else "r"
    return f"{kind}|{msg.chat_type}|{msg.chat_id or msg.sender}|{rid}"


class Link:
    """Holds the bot's connection while it holds the lease; see the module docstring."""

    def __init__(self, config: Config, store: Store, *, owner: str | None = None,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.cfg, self.a, self.store = config, config.wecom.aibot, store
        self.owner = owner or consumer_name("aibot")
        self.lease = Lease(store.r, store.keys.aibot_ws_lease(self.a.bot_id), self.owner, self.a.lease_ms)
        self.replies = ReplyQueue(store.r, store.keys, self.a.bot_id)
        self._session, self._own_session = session, session is None
        self._stop = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._acks: dict[str, asyncio.Future] = {}
        self._ingest: asyncio.Queue[Message] = asyncio.Queue()
        self.subscribed = asyncio.Event()  # set while a subscribed connection is up
        self._closing = asyncio.Event()  # set when the current connection is being torn down
        self.state = "idle"  # idle | standby | connecting | subscribed | auth_failed | kicked | stopped
        self.connects = 0  # successful subscriptions, for tests and logs
        self.received = 0

    # -- lifecycle ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Until stop(): take the lease, hold the connection, reconnect with jittered backoff."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        ingest = asyncio.create_task(self._ingest_loop())
        outage = Outage("aibot_ws_lease", log)
        drop = Backoff(base=1.0, cap=self.a.reconnect_max_seconds)
        refused = Backoff(base=5.0, cap=self.a.auth_retry_seconds)
        try:
            while not self._stop.is_set():
                try:
                    held = await self.lease.acquire()
                    outage.ok()
                except Exception as exc:
                    if not unreachable(exc):
                        raise
                    outage.failed("taking the connection lease")
                    await self._sleep(outage.backoff.next())
                    continue
                if not held:
                    self.state = "standby"
                    await self._sleep(self.a.lease_ms / 3000)
                    continue
                outcome = await self._connection()
                if self._stop.is_set():
                    break
                if outcome == "subscribed-then-dropped":
                    drop.reset()
                    refused.reset()
                if outcome == "lease lost":
                    continue
                if outcome == "auth failed":
                    # Kept: the lease is held while waiting, so only one process retries a bad secret.
                    await self._hold(refused.next())
                elif outcome == "kicked":
                    await self._hold(self.a.kicked_pause_seconds)
                else:
                    await self._hold(drop.next())
        finally:
            self.state = "stopped"
            await self._drain_ingest(ingest)
            try:
                await self.lease.release()  # at once, so another process takes over in a moment
            except Exception:
                log.warning("aibot_ws: could not release the lease; it expires in %d ms", self.a.lease_ms)
            if self._own_session and self._session is not None:
                await self._session.close()

    def stop(self) -> None:
        """Close the connection and release the lease (run() returns); pending replies stay in Redis."""
        self._stop.set()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=max(0.0, seconds))
        except asyncio.TimeoutError:
            pass

    async def _hold(self, seconds: float) -> None:
        """Wait `seconds` still holding the lease (renewing it), or until it is lost or we stop."""
        until = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < until:
            await self._sleep(min(self.a.lease_ms / 3000, until - time.monotonic()))
            try:
                if not await self.lease.renew():
                    return
            except Exception as exc:
                if not unreachable(exc):
                    raise
                return  # Redis away: the lease may lapse; acquire() decides on the next round

    # -- one connection -------------------------------------------------------------------------
    async def _connection(self) -> str:
        self.state = "connecting"
        try:
            ws = await self._session.ws_connect(self.a.ws_url, heartbeat=None, autoping=True,
                                                timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
                                                max_msg_size=4 << 20)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            log.warning("aibot_ws: cannot reach %s: %s", self.a.ws_url, exc)
            return "unreachable"
        self._ws = ws
        try:
            verdict = await self._subscribe(ws)
            if verdict != "ok":
                return verdict
            self.connects += 1
            self.state = "subscribed"
            self.subscribed.set()
            self._closing = asyncio.Event()
            log.info("aibot_ws: subscribed as bot %s (%s)", self.a.bot_id, self.owner)
            tasks = {asyncio.create_task(self._reader(ws), name="reader"),
                     asyncio.create_task(self._heartbeat(ws), name="heartbeat"),
                     asyncio.create_task(self._keep_lease(), name="lease"),
                     asyncio.create_task(self._pump(ws), name="pump"),
                     asyncio.create_task(self._stopped(), name="stop")}
            try:
                done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:  # also when we are cancelled: nothing of this connection may outlive it
                # Bounded: redis-py can swallow a cancel that lands in a blocking XREADGROUP, so the pump
                # also stops on its own at its next round (closing, or the socket closed); what it had
                # read stays pending and the next connection claims it.
                self._closing.set()
                for t in tasks:
                    t.cancel()
                await asyncio.wait(tasks, timeout=1.0)
            reason = "error"
            for t in done:
                if t.exception() is not None:
                    log.error("aibot_ws: %s failed", t.get_name(), exc_info=t.exception())
                else:
                    reason = t.result()
            if reason == "kicked":
                self.state = "kicked"
                log.error("aibot_ws: WeCom handed bot %s to another connection (disconnected_event). Another "
                          "deployment with the same bot_id? Not reconnecting for %.0f s.",
                          self.a.bot_id, self.a.kicked_pause_seconds)
                return "kicked"
            if reason == "lease lost":
                log.warning("aibot_ws: lost the connection lease; closing so the new holder has the only socket")
                return "lease lost"
            if reason == "stopped":
                return "stopped"
            log.warning("aibot_ws: connection ended (%s); reconnecting with backoff", reason)
            return "subscribed-then-dropped"
        finally:
            self.subscribed.clear()
            for fut in self._acks.values():
                if not fut.done():
                    fut.cancel()
            self._acks.clear()
            self._ws = None
            await ws.close()

    async def _stopped(self) -> str:
        await self._stop.wait()
        return "stopped"

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        rid = req_id(SUBSCRIBE)
        await ws.send_json({"cmd": SUBSCRIBE, "headers": {"req_id": rid},
                            "body": {"bot_id": self.a.bot_id, "secret": self.a.secret}})
        deadline = time.monotonic() + SUBSCRIBE_TIMEOUT
        while True:
            try:
                msg = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                log.warning("aibot_ws: no answer to aibot_subscribe within %.0f s", SUBSCRIBE_TIMEOUT)
                return "subscribe timeout"
            if msg.type != aiohttp.WSMsgType.TEXT:
                log.warning("aibot_ws: connection closed before the subscription was answered (%s)", msg.type.name)
                return "closed while subscribing"
            frame = _frame(msg.data)
            if frame is None or _rid(frame) != rid:
                continue  # nothing else is expected before the answer; ignore rather than guess
            code = frame.get("errcode")
            if code == 0:
                return "ok"
            self.state = "auth_failed"
            log.error("aibot_ws: WeCom refused aibot_subscribe for bot %s: errcode %s (%s). Check "
                      "[wecom.aibot] bot_id and secret (QUNBOT_WECOM_AIBOT_SECRET) in the 智能机器人 console; "
                      "retrying with backoff up to %.0f s.", self.a.bot_id, code, frame.get("errmsg"),
                      self.a.auth_retry_seconds)
            return "auth failed"

    async def _reader(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                if msg.type == aiohttp.WSMsgType.ERROR:
                    return f"socket error {ws.exception()}"
                continue
            frame = _frame(msg.data)
            if frame is None:
                log.warning("aibot_ws: ignoring a frame that is not a JSON object")
                continue
            cmd = frame.get("cmd")
            if not cmd:  # an ack: {headers: {req_id}, errcode, errmsg}
                fut = self._acks.pop(_rid(frame), None)
                if fut is not None and not fut.done():
                    fut.set_result(frame)
                continue
            if cmd not in CALLBACKS:
                log.info("aibot_ws: ignoring frame %s", str(cmd)[:40])
                continue
            body = frame.get("body")
            event = ((body or {}).get("event") or {}) if isinstance(body, dict) else {}
            if isinstance(event, dict) and event.get("eventtype") == "disconnected_event":
                return "kicked"
            self._receive(frame)
        return f"closed by WeCom (code {ws.close_code})"

    def _receive(self, frame: dict) -> None:
        body, rid = frame.get("body"), _rid(frame)
        try:
            msg = wecom.aibot_message(json.dumps(body, ensure_ascii=False, sort_keys=True).encode())
        except wecom.BadPayload as exc:
            log.warning("aibot_ws: unusable callback %s: %s", rid[:60], exc)
            return
        except Exception:  # a shape the parser did not foresee: log it, keep the connection
            log.exception("aibot_ws: callback %s could not be parsed", rid[:60])
            return
        if msg is None:
            log.info("aibot_ws: ignoring a message/event type we do not handle")
            return
        self.received += 1
        self._ingest.put_nowait(dataclasses.replace(msg, raw={**msg.raw, "req_id": rid}))

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        missed = 0
        while True:
            await asyncio.sleep(self.a.heartbeat_seconds)
            ack = await self._request(ws, {"cmd": PING, "headers": {"req_id": req_id(PING)}},
                                      timeout=self.a.heartbeat_seconds)
            missed = 0 if ack is not None else missed + 1
            if missed >= MISSED_PINGS:
                return f"{missed} pings unanswered"

    async def _keep_lease(self) -> str:
        outage = Outage("aibot_ws_lease", log)
        lapse = time.monotonic() + self.a.lease_ms / 1000
        while True:
            await asyncio.sleep(self.a.lease_ms / 3000)
            try:
                if not await self.lease.renew():
                    return "lease lost"
                outage.ok()
                lapse = time.monotonic() + self.a.lease_ms / 1000
            except Exception as exc:
                _reraise_cancel()
                if not unreachable(exc):
                    raise
                outage.failed("renewing the connection lease")
                # Redis away: another process may take the lease once Redis is back and ours lapsed,
                # so close before that can happen rather than hold a second socket.
                if time.monotonic() > lapse:
                    return "lease lost"

    async def _request(self, ws: aiohttp.ClientWebSocketResponse, frame: dict,
                       timeout: float = ACK_TIMEOUT) -> dict | None:
        """Send a frame and wait for the ack with its req_id; None when none came in time."""
        rid = _rid(frame)
        fut = asyncio.get_running_loop().create_future()
        self._acks[rid] = fut
        try:
            await ws.send_json(frame, dumps=_dumps)
            return await asyncio.wait_for(fut, timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError, ConnectionError, aiohttp.ClientError):
            if asyncio.current_task() and asyncio.current_task().cancelling():
                raise
            return None
        finally:
            if self._acks.get(rid) is fut:
                del self._acks[rid]

    # -- inbound: socket -> inbox ----------------------------------------------------------------
    async def _ingest_loop(self) -> None:
        outage = Outage("aibot_ws_ingest", log)
        while True:
            msg = await self._ingest.get()
            while True:
                try:
                    added = await self.store.inbox.put_batched(msg.conversation, msg.id, msg.to_json())
                    outage.ok()
                    if added is None:
                        log.info("aibot_ws: duplicate callback %s ignored", msg.id)
                    break
                except Exception as exc:
                    if not unreachable(exc):
                        log.exception("aibot_ws: could not store %s; dropped", msg.id)
                        break
                    outage.failed("storing a callback in the inbox")
                    await outage.wait()
            self._ingest.task_done()

    async def _drain_ingest(self, task: asyncio.Task) -> None:
        try:
            await asyncio.wait_for(self._ingest.join(), timeout=10)
        except asyncio.TimeoutError:
            log.error("aibot_ws: %d received message(s) not stored (Redis unreachable at shutdown)",
                      self._ingest.qsize())
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # -- outbound: reply stream -> socket --------------------------------------------------------
    async def _pump(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        outage = Outage("aibot_ws_replies", log)
        first = True
        while True:
            # redis-py may swallow a cancel that lands in a blocking read: look before each round, so
            # a pump of a closed connection never takes entries the next connection should send.
            _reraise_cancel()
            if ws.closed or self._closing.is_set():
                return "socket closed"
            try:
                if first:
                    await self.replies.ensure_group()
                    batch = await self.replies.pending(self.owner)  # left by a previous holder or session
                    first = False
                else:
                    batch = await self.replies.read(self.owner, block_ms=1000)
                outage.ok()
            except ResponseError as exc:
                if "NOGROUP" not in str(exc) and "no longer exists" not in str(exc):
                    raise
                first = True  # the stream was deleted under us (an operator, a flush): make it again
                continue
            except Exception as exc:
                _reraise_cancel()
                if not unreachable(exc):
                    raise
                outage.failed("reading the reply stream")
                await outage.wait()
                continue
            for entry in batch:
                if ws.closed or self._closing.is_set():
                    return "socket closed"  # the rest stay pending for the next connection
                verdict = await self._send_reply(ws, entry)
                if verdict == "retry":
                    return "a reply frame went unanswered"
                try:
                    await self.replies.done(entry.id)
                except Exception as exc:
                    if not unreachable(exc):
                        raise
                    # Stays pending: the next session sends it again; the stream id makes that harmless.
                    outage.failed("acking a sent reply")

    async def _send_reply(self, ws: aiohttp.ClientWebSocketResponse, entry: ReplyEntry) -> str:
        """Send one reply; "sent", "dead" (dead-lettered) or "retry" (socket unusable, keep it)."""
        item = entry.frame
        kind, chat_type, chatid, rid = (item["to"].split("|", 3) + ["", "", ""])[:4]
        if kind == "w":
            body: dict[str, Any] = {"msgtype": "text", "text": {"content": item["content"]}}
            frame = {"cmd": WELCOME, "headers": {"req_id": rid}, "body": body}
        else:
            body = {"msgtype": "stream", "stream": {"id": item["stream_id"], "finish": True,
                                                    "content": item["content"]}}
            frame = {"cmd": RESPOND, "headers": {"req_id": rid}, "body": body}
        fresh = time.time() - float(item.get("queued", time.time())) < REPLY_WINDOW
        ack = await self._ack_with_retries(ws, frame) if fresh else {"errcode": "window", "errmsg": "older than 24 h"}
        if ack is None:
            return "retry"
        if ack.get("errcode") == 0:
            return "sent"
        if entry.deliveries > 1 and fresh:
            # An earlier holder sent this frame and never saw the ack: the refusal most likely
            # means it arrived (a finished stream cannot be refreshed). At most once, as for response_url.
            log.info("aibot_ws: reply %s refused after an unanswered try (%s): taken as delivered",
                     item.get("stream_id"), ack.get("errcode"))
            return "sent"
        if kind == "w":
            return await self._dead(item, f"welcome refused: errcode {ack.get('errcode')} {ack.get('errmsg')}")
        # The req_id is no longer usable (too old, or from a connection WeCom forgot): push instead,
        # which WeCom allows to any chat that has written to the bot before.
        push = {"cmd": PUSH, "headers": {"req_id": req_id(PUSH)},
                "body": {"chatid": chatid, "chat_type": 2 if chat_type == "group" else 1,
                         "msgtype": "markdown", "markdown": {"content": item["content"]}}}
        pushed = await self._ack_with_retries(ws, push)
        if pushed is None:
            return "retry"
        if pushed.get("errcode") == 0:
            log.info("aibot_ws: reply to %s sent as a push (respond refused: errcode %s)", chatid, ack.get("errcode"))
            return "sent"
        return await self._dead(item, f"respond errcode {ack.get('errcode')}, push errcode {pushed.get('errcode')} "
                                      f"{pushed.get('errmsg')}")

    async def _ack_with_retries(self, ws: aiohttp.ClientWebSocketResponse, frame: dict) -> dict | None:
        for attempt in range(3):
            ack = await self._request(ws, frame)
            if ack is None or ack.get("errcode") != CONFLICT:
                return ack
            await asyncio.sleep(0.2 * 2 ** attempt)
        return ack

    async def _dead(self, item: dict, reason: str) -> str:
        """Keep an undeliverable reply where `qunbot dead-letters` shows and replays it."""
        log.error("aibot_ws: reply %s undeliverable: %s", item.get("stream_id"), reason)
        out = dict(item.get("out") or {}, channel=CHANNEL, to=item["to"], content=item["content"])
        await self.store.delivery.dead_letter({
            "d": json.dumps(out, ensure_ascii=False), "reason": reason, "from": str(item.get("stream_id")),
            "k": f"{CHANNEL}:{item['to']}", "since": str(item.get("queued", time.time()))})
        return "dead"


# -- the sender side: any process ------------------------------------------------------------------
def sender_channel(queue: ReplyQueue):
    """The sender's "aibot_ws" channel: hand the frame to the connection holder through Redis.

    The outbox entry is acked only after this XADD returned, so the reply is durable before it
    leaves the outbox; the stream id is the outbox entry's id and part, the same on every retry.
    """
    async def deliver(out: dict, text: str) -> None:
        attempt = out.get("_try") or {}
        await queue.put({"to": out["to"], "content": text, "queued": time.time(),
                         "stream_id": f"{attempt.get('oid') or out.get('id')}.{attempt.get('index', 0)}",
                         "out": {k: v for k, v in out.items() if not k.startswith("_")}})
    return deliver


def setup(deps: dict[str, Any], config: Config, store: Store) -> None:
    """Register the reply channel (every process with a sender may produce socket replies)."""
    deps["sender"].register(CHANNEL, sender_channel(ReplyQueue(store.r, store.keys, config.wecom.aibot.bot_id)))


def _reraise_cancel() -> None:
    """redis-py can turn a cancellation that lands inside a blocking read into a ConnectionError;
    a loop that took that for an outage would never end, so a pending cancel wins."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _frame(data: str) -> dict | None:
    try:
        frame = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return frame if isinstance(frame, dict) else None


def _rid(frame: dict) -> str:
    headers = frame.get("headers")
    value = headers.get("req_id") if isinstance(headers, dict) else None
    return value if isinstance(value, str) else ""


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


async def link_ctx(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: in websocket mode every process registers the reply channel and
    runs a Link; the lease makes exactly one of them dial WeCom."""
    from bot.appkeys import CONFIG, DEPS, STORE
    from bot.loops import supervise
    config, store, deps = app[CONFIG], app[STORE], app[DEPS]
    setup(deps, config, store)
    link = Link(config, store)
    deps["aibot_link"] = link
    task = asyncio.create_task(supervise("aibot_ws", link.run))
    yield
    link.stop()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=15)
    except asyncio.TimeoutError:
        task.cancel()
