"""The few WeCom calls the shopper channels make themselves: nicknames and kf links (cached in
Redis), and the one-shot greetings that must go out within 20 s of their event."""
from __future__ import annotations

import asyncio
import logging

from bot.config import Config
from bot.wecom_api import Transient, WeComClient, WeComError
from store import Store

log = logging.getLogger(__name__)

BATCH = 100  # kf/customer/batchget takes at most 100 ids
UNKNOWN_TTL = 3600  # an id WeCom has no nickname for is asked about again after this


def contact_secret(config: Config) -> str:
    return config.wecom.contact_secret or config.wecom.app.secret


async def nicknames(api: WeComClient | None, config: Config, store: Store, users: list[str],
                    ttl: int, cached: dict[str, str] | None = None,
                    remember: list[tuple[dict[str, str], int]] | None = None) -> dict[str, str]:
    """external_userid -> WeChat nickname; unknown ids are simply missing (never raises).
    `cached` is the name cache as the caller just read it (then it is not read again); with
    `remember`, the (names, ttl) to cache are appended to it for the caller to write, not written."""
    users = list(dict.fromkeys(u for u in users if u))
    if cached is None:
        cached = await store.kf.names(users)  # "" = WeCom had no name lately
    known = {u: n for u, n in cached.items() if n}
    missing = [u for u in users if u not in cached]
    if not missing or api is None:
        return known
    fetched: dict[str, str] = {}
    nameless: dict[str, str] = {}
    for i in range(0, len(missing), BATCH):
        batch = missing[i:i + BATCH]
        try:
            res = await api.call("kf/customer/batchget", secret=config.wecom.app.secret,
                                 json_body={"external_userid_list": batch, "need_enter_session_context": 0})
        except (WeComError, OSError, TimeoutError) as exc:
            log.warning("kf/customer/batchget failed (%s); names stay unknown", exc)
            break
        for c in res.get("customer_list") or []:
            if c.get("external_userid") and c.get("nickname"):
                fetched[c["external_userid"]] = str(c["nickname"])
        # Remembered as "" for a while, so a nameless id does not cost a call on every message.
        nameless.update((u, "") for u in batch if u not in fetched)
    writes = [(fetched, ttl), (nameless, min(ttl, UNKNOWN_TTL))]
    if remember is not None:
        remember.extend(writes)
    else:
        for names, secs in writes:
            await store.kf.remember_names(names, secs)
    return {**known, **fetched}


async def kf_link(api: WeComClient | None, config: Config, store: Store, open_kfid: str, scene: str) -> str:
    """A 微信客服 URL for (kf account, scene); "" when it cannot be had (posts then go without it)."""
    if not open_kfid:
        return ""
    cached = await store.kf.link(open_kfid, scene)
    if cached:
        return cached
    if api is None:
        return ""
    try:
        res = await api.call("kf/add_contact_way", secret=config.wecom.app.secret,
                             json_body={"open_kfid": open_kfid, "scene": scene})
    except (WeComError, OSError, TimeoutError) as exc:
        log.warning("kf/add_contact_way %s/%s failed: %s", open_kfid, scene, exc)
        return ""
    url = str(res.get("url") or "")
    if url:
        await store.kf.remember_link(open_kfid, scene, url)
    return url


async def send_once(api: WeComClient, path: str, secret: str, body: dict, what: str,
                    expected: dict[int, str]) -> bool:
    """Spend a one-shot code (a WelcomeCode lives 20 s): sent from the handler, not the outbox, with
    one quick retry on a transport error. Errcodes in `expected` are ordinary outcomes (logged at
    info); no error is raised, since a later retry would only find the code dead."""
    for attempt in (1, 2):
        try:
            await api.call(path, secret=secret, json_body=body)
            return True
        except Transient as exc:
            if attempt == 2:
                log.warning("%s not sent: %s", what, exc)
                return False
            await asyncio.sleep(0.5)
        except WeComError as exc:
            if exc.errcode in expected:
                log.info("%s not sent: %s", what, expected[exc.errcode])
            else:
                log.error("%s refused: %s%s", what, exc, f" Fix: {exc.fix}" if exc.fix else "")
            return False
    return False
