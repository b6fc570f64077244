"""Demo activity for the sandbox (`make run`): 30 days of 团, shoppers' asks and coupon claims,
played into an EMPTY ledger so the console and the digest have something to show.

Only on a demo config (`demo = true`) with `[demo_data] enabled = true`, and only when the ledger
has no 团 at all: demo data never mixes with real data. Everything goes through the real ledger,
demand and coupon stores and the digest's own freeze, as the service would have written it. It
runs after the Q&A feature's setup, which seeds the demo catalog the 团 are made from.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.config import Config
from bot.feature import Feature

log = logging.getLogger(__name__)
WISHES = ("榴莲", "椰青", "三元牛奶", "山竹", "车厘子礼盒")
PICKUP_TAGS = ("A区", "B区", "下午取", "")


@dataclass(frozen=True)
class Section:
    enabled: bool = False


async def setup(deps: dict[str, Any]) -> None:
    config = deps["config"]
    if not (config.demo and deps.get("demo_data_settings", Section()).enabled):
        return
    if await deps["store"].groupbuys.all_ids(1):
        return  # not an empty ledger
    await seed(deps["store"], config, time.time())


async def seed(store, config: Config, now: float, days: int = 30, rng: random.Random | None = None,
               stores: list[str] | None = None) -> dict[str, int]:
    """`days` days of 团, asks and coupon claims for each store (all configured ones by default);
    past days are frozen as the digest's cutoff job would. Returns what it wrote."""
    from handlers.coupons import service
    from handlers.coupons.codes import new_code
    from handlers.coupons.rules import CampaignError, parse_campaign
    from handlers.digest.day import business_day, cutoff_ts
    from handlers.digest.load import freeze_day
    from handlers.digest.settings import settings as digest_settings

    rng = rng or random.Random(17)
    st = digest_settings(config)
    gbs = store.groupbuys
    _, products, _ = await store.catalog.load()
    carried = [p for p in products if p.stock > 0][:12] or products[:12]
    missing = [p for p in products if p.stock <= 0][:6]
    ids = stores or [s.id for s in config.stores]
    guide = {s.id: (s.guides or ("demo_guide",))[0] for s in config.stores}
    today = business_day(now, st.cutoff, st.tz)
    counts = {"tuans": 0, "asks": 0, "claims": 0}
    seq = iter(range(10**9))

    def mid() -> str:
        return f"demo{next(seq)}"

    shoppers = [f"wmdemo{i:03d}" for i in range(60)]
    for back in range(days, -1, -1):
        day = (datetime.fromisoformat(today) - timedelta(days=back)).date().isoformat()
        cutoff = cutoff_ts(day, st.cutoff, st.tz)
        growth = 1 + (days - back) / days  # demand rises over the month: the trend lines show it
        for sid in ids:
            for p in rng.sample(carried, min(len(carried), 2)) if carried else []:
                open_now = back == 0 and rng.random() < 0.7
                end = cutoff + (86400 if open_now else -rng.randint(600, 3 * 3600))
                if back == 0 and not open_now:
                    end = min(end, now - rng.randint(600, 7200))  # today's closed 团 closed before now
                gid = await gbs.allocate(mid())
                created = end - 86400
                await gbs.create(gid, {"product": p.name, "unit": p.unit or "份", "price_fen": p.price_fen or 990,
                                       "cutoff": end, "pickup": "门店服务台", "store_id": sid, "guide": guide[sid],
                                       "sku": p.sku, "cap": rng.choice([0, 0, 20]), "per_person": 0,
                                       "min_to_form": rng.randint(5, 15)}, created)
                t = created + 60
                for who in rng.sample(shoppers, max(1, int(rng.randint(2, 8) * growth))):
                    await gbs.join(gid, mid(), t, who, rng.randint(1, 4), name=f"顾客{who[-3:]}",
                                   tag=rng.choice(PICKUP_TAGS))
                    t += 30
                if not open_now:
                    await gbs.close(gid, mid(), end + 10, reason="cutoff", by="scheduler")
                    got = await gbs.get(gid)
                    if got is not None:
                        await gbs.note(gid, "announced_closed", str(int(end + 10)))
                        await gbs.retire(got, end + 20)
                counts["tuans"] += 1
            for p in missing:
                for who in rng.sample(shoppers, rng.randint(0, int(3 * growth))):
                    await store.demand.record(day, "unmet", sid, p.sku, who, example=f"{p.name}什么时候有货",
                                              guide=guide[sid])
                    counts["asks"] += 1
            for who in rng.sample(shoppers, rng.randint(0, 2)):
                term = rng.choice(WISHES)
                await store.demand.record(day, "wish", sid, term, who, example=f"能不能进点{term}", guide=guide[sid])
                counts["asks"] += 1
        if back > 0:
            await freeze_day(store, day, st, cutoff + 60)
    # One coupon campaign per store, live for two weeks: claims and redemptions spread over it.
    start = now - 14 * 86400
    for sid in ids:
        spec = parse_campaign("新人券 满50减10 500张 有效30天", service.local(start, config), service.tz_of(config))
        if isinstance(spec, CampaignError):
            break
        cid = await service.create_campaign(store, spec, owner=sid, by=guide[sid], now=start)
        await store.coupons.confirm(cid, by=guide[sid], now=start)
        for i, who in enumerate(rng.sample(shoppers, 25)):
            at = start + rng.uniform(0, 13.5 * 86400)
            c = await store.coupons.claim(cid, shopper=who, msg_id=mid(), now=at, day_end=service.day_end(at, config),
                                          store_id=sid, joined_at=int(at - 3600), target="", new_code=new_code)
            counts["claims"] += 1
            if c.codes and i % 3 == 0:
                await store.coupons.redeem(c.codes[0], store_id=sid, order_no=f"D{i:04d}", by=f"pos:{sid}",
                                           now=min(at + rng.uniform(600, 3 * 86400), now - 60))
    log.info("demo data: %(tuans)d 团, %(asks)d asks, %(claims)d coupon claims", counts)
    return counts


feature = Feature("demo_data", settings=Section, setup=setup)
