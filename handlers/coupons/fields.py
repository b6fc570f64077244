"""A campaign given as JSON fields (admin API) -> `CampaignSpec`, or a `CampaignError`.

The API also accepts the chat's rule text; this is for callers that already have structured data.
Field names are those of `CampaignSpec` (money in fen); `ends_on` is "YYYY-MM-DD" and `stores` is
null (the owner store), "all" or a list of store ids. Errors use the parser's codes where one fits
and `bad_field:<name>` for a wrong type or a field that does not belong to the kind.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, tzinfo
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from handlers.coupons.rules import (
    ALL_STORES, MAX_FEN, MAX_NAME, MAX_NEW_MEMBER_DAYS, MAX_PER_PERSON, MAX_TOTAL, MAX_VALID_DAYS,
    CampaignError, CampaignSpec, rule_label,
)

KINDS = ("threshold", "no_threshold", "percent", "item")
_KNOWN = {"name", "kind", "total", "per_person", "threshold_fen", "amount_fen", "percent", "max_discount_fen",
          "sku", "item_text", "valid_days", "ends_on", "new_member_days", "stores"}


def _int(data: Mapping[str, Any], name: str, codes: list[str]) -> int | None:
    v = data.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        codes.append(f"bad_field:{name}")
        return None
    return v


def spec_from_fields(data: Mapping[str, Any], now: datetime,
                     tz: tzinfo = ZoneInfo("Asia/Shanghai")) -> CampaignSpec | CampaignError:
    codes: list[str] = [f"bad_field:{k}" for k in data if k not in _KNOWN]
    kind = data.get("kind")
    if kind is None:
        codes.append("missing_rule")
    elif kind not in KINDS:
        codes.append("bad_field:kind")
    total = _int(data, "total", codes)
    per_person = _int(data, "per_person", codes)
    threshold = _int(data, "threshold_fen", codes) or 0
    amount = _int(data, "amount_fen", codes)
    percent = _int(data, "percent", codes)
    cap = _int(data, "max_discount_fen", codes)
    valid_days = _int(data, "valid_days", codes)
    new_member = _int(data, "new_member_days", codes)

    if not 0 <= threshold <= MAX_FEN:
        codes.append("bad_field:threshold_fen")
    if kind == "threshold" and threshold == 0:
        codes.append("bad_field:threshold_fen")
    if kind == "no_threshold" and threshold:
        codes.append("conflicting_rule")
    if kind in ("threshold", "no_threshold", "item"):
        if amount is None:
            codes.append("missing_amount")
        elif not 1 <= amount <= MAX_FEN:
            codes.append("bad_amount")
        elif threshold and amount >= threshold and kind != "no_threshold":
            codes.append("discount_exceeds_threshold")
        if percent is not None:
            codes.append("conflicting_rule")
    if kind == "percent":
        if percent is None or not 10 <= percent <= 99:
            codes.append("bad_percent")
        if amount is not None:
            codes.append("conflicting_rule")
    if cap is not None:
        if kind != "percent":
            codes.append("cap_without_percent")
        elif not 1 <= cap <= MAX_FEN:
            codes.append("bad_cap")
    sku, item_text = data.get("sku"), data.get("item_text")
    for name, v in (("sku", sku), ("item_text", item_text)):
        if v is not None and (not isinstance(v, str) or len(v) > MAX_NAME):
            codes.append(f"bad_field:{name}")
    if kind == "item" and not (sku or item_text):
        codes.append("missing_item")
    if kind != "item" and (sku or item_text):
        codes.append("bad_field:sku" if sku else "bad_field:item_text")

    if total is None:
        codes.append("missing_total")
    elif not 1 <= total <= MAX_TOTAL:
        codes.append("bad_total")
    pp = 1 if per_person is None else per_person
    if not 1 <= pp <= MAX_PER_PERSON:
        codes.append("bad_per_person")
    elif total is not None and 1 <= total <= MAX_TOTAL and pp > total:
        codes.append("per_person_exceeds_total")

    ends_on: date | None = None
    ends_at: int | None = None
    if data.get("ends_on") is not None:
        try:
            ends_on = date.fromisoformat(str(data["ends_on"]))
        except ValueError:
            codes.append("bad_validity")
        else:
            today = now.astimezone(tz).date()
            if not 0 <= (ends_on - today).days < MAX_VALID_DAYS:
                codes.append("bad_validity")
            ends_at = int(datetime.combine(ends_on, time(23, 59, 59), tzinfo=tz).timestamp())
    if valid_days is not None and ends_on is not None:
        codes.append("duplicate:validity")
    elif valid_days is None and ends_on is None and "bad_validity" not in codes:
        codes.append("missing_validity")
    elif valid_days is not None and not 1 <= valid_days <= MAX_VALID_DAYS:
        codes.append("bad_validity")
    if new_member is not None and not 1 <= new_member <= MAX_NEW_MEMBER_DAYS:
        codes.append("bad_new_member")

    stores_in = data.get("stores")
    stores: tuple[str, ...] | str | None
    if stores_in is None:
        stores = None
    elif stores_in == ALL_STORES:
        stores = ALL_STORES
    elif isinstance(stores_in, list) and stores_in and all(isinstance(s, str) and s for s in stores_in):
        stores = tuple(dict.fromkeys(stores_in))
    else:
        codes.append("bad_field:stores")
        stores = None
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME):
        codes.append("bad_name")

    if codes:
        return CampaignError(tuple(dict.fromkeys(codes)))
    spec = CampaignSpec(
        name=(name or "").strip(), kind=kind, total=total or 0, per_person=pp,  # type: ignore[arg-type]
        threshold_fen=threshold, amount_fen=amount or 0, percent=percent, max_discount_fen=cap,
        sku=sku.upper() if sku else None, item_text=item_text or sku, valid_days=valid_days,
        ends_on=ends_on, ends_at=ends_at, new_member_days=new_member, stores=stores,  # type: ignore[arg-type]
        name_given=bool(name),
    )
    if not name:
        spec = replace(spec, name=rule_label(spec))
    return spec
