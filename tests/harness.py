"""Drives the real service in tests: signed callbacks in, burst-mode worker and sender, fake WeCom out."""
from __future__ import annotations

import json
import time

from bot.app import create_app, pipeline
from bot.appkeys import DEPS, FEATURES, STORE
from tests import factories as f


class Harness:
    @classmethod
    async def start(cls, aiohttp_client, redis, config, fake) -> "Harness":
        h = cls()
        h.config, h.fake, h.redis = config, fake, redis
        # The web app serves the callbacks; the worker's pieces come from the same factory as in
        # production (bot.app.pipeline), run here in burst mode by drain() instead of as tasks.
        h.client = await aiohttp_client(create_app(config, role="web", redis=redis))
        h.app = h.client.server.app
        h.store, h.deps = h.app[STORE], h.app[DEPS]
        p = pipeline(config, h.deps, h.app[FEATURES], worker_name="test-worker", sender_name="test-sender")
        h.worker, h.inbox, h.outbox, h.scheduler = p.worker, p.inbox, p.outbox, p.scheduler
        # The sender's clock runs `skew` seconds ahead, so retries minutes away are due at once.
        h.skew = 0.0
        h.sender = h.deps["sender"]
        h.sender.clock = lambda: time.time() + h.skew
        return h

    async def retry_due(self, seconds: float = 0.0) -> int:
        """Let `seconds` pass on the sender's clock, then send what is due for a retry by then."""
        self.skew += seconds
        return await self.drain()

    async def post_app(self, plaintext: str, **kw):
        q, body = f.app_callback(plaintext, **kw)
        return await self.client.post(f"/wecom/app?{q}", data=body)

    async def say(self, text: str, user: str = "xiaowang", msg_id: int | None = None):
        resp = await self.post_app(f.text_xml(text, user=user, msg_id=msg_id))
        assert resp.status == 200, await resp.text()
        return resp

    async def drain(self) -> int:
        """Run worker and sender until nothing is left to do."""
        total = 0
        for _ in range(50):
            await self.sender.release_due()
            n = await self.inbox.drain() + await self.outbox.drain()
            total += n
            if n == 0:
                break
        return total

    def sent_texts(self, to: str | None = None, path: str = "message/send") -> list[str]:
        out = []
        for call in self.fake.sent(path, ok=True):
            body = call.body or {}
            if to is not None and to not in (body.get("touser"), body.get("chatid")):
                continue
            mt = body.get("msgtype")
            if isinstance(body.get(mt), dict) and "content" in body[mt]:
                out.append(body[mt]["content"])
        return out

    async def ask(self, text: str, user: str = "xiaowang") -> list[str]:
        """Say something and return the texts sent back to that user."""
        before = len(self.sent_texts(user))
        await self.say(text, user=user)
        await self.drain()
        return self.sent_texts(user)[before:]

    def json(self, text: str):
        return json.loads(text)
