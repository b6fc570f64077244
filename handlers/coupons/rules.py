"""Campaign rules: a guide's ``/发券`` command parsed into a `CampaignSpec`, or a `CampaignError`.

Examples the parser understands (any order, separated by spaces, commas or nothing at all)::

    /发券 新人券 满50减10 100张 每人1张 有效3天
    /发券 无门槛5元 共200张 一人一张 领取后7天有效 新人3天
    /发券 周末券 满30享9折 最高减20 50张 有效至12-31 全部门店
    /发券 单品 F001 立减8元 30张 12月31日前 门店 S01、S02

Numbers may be full-width or Chinese (满五十减十, 一百张, 九折, 八五折). Numerals are converted only
inside the patterns that expect a number, never across the whole text, so product names such as
五常大米 survive. Anything the parser cannot place is reported, never guessed: the error carries one
machine code per problem so the template can say which part it could not read.

Error codes: ``empty``, ``too_long``, ``bad_name``, ``missing_rule``, ``missing_amount``,
``conflicting_rule``, ``bad_amount``, ``bad_percent``, ``bad_cap``, ``cap_without_percent``,
``discount_exceeds_threshold``, ``missing_item``, ``missing_total``, ``bad_total``,
``bad_per_person``, ``per_person_exceeds_total``, ``missing_validity``, ``bad_validity``,
``bad_new_member``, ``duplicate:<part>`` (part: name, threshold, amount, percent, cap, item,
total, per_person, validity, new_member, stores) and ``unknown_token:<token>``.

A name containing 新人 (e.g. 新人券) makes the campaign new-members-only with the default window
unless the command sets the window (新人3天, 入群3天内) or says 全员 / 不限新老.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Callable, Literal, Mapping
from zoneinfo import ZoneInfo

from bot.limits import DEFAULT as DEFAULT_LIMITS

Kind = Literal["threshold", "no_threshold", "percent", "item"]
ALL_STORES = "all"

DEFAULT_NEW_MEMBER_DAYS = 7
MAX_TOTAL = DEFAULT_LIMITS.max_quantity  # bot/limits.py
MAX_PER_PERSON = 100
MAX_VALID_DAYS = 366
MAX_NEW_MEMBER_DAYS = 365
MAX_FEN = 1_000_000  # 10,000 yuan: far above any store coupon, catches a typed extra zero or three
MAX_NAME = 30
MAX_TEXT = 500  # a command is one line of rules; longer text is a paste accident, not a campaign
_SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """One campaign's rules. Money in fen; exactly one of valid_days / ends_at is set.

    kind: threshold (满减: threshold_fen > 0, amount_fen), no_threshold (无门槛: amount_fen),
    percent (折扣: percent, optional threshold_fen and max_discount_fen), item (单品: item_text,
    sku when the text looks like a SKU or barcode, amount_fen, optional threshold_fen).
    stores: None = the guide's own store, ALL_STORES, or a tuple of store ids.
    new_member_days: None = anyone may claim; N = only members who joined a group of the store
    within N days. ends_at is the last second (inclusive) of ends_on in the parser's timezone.
    """

    name: str
    kind: Kind
    total: int
    per_person: int = 1
    threshold_fen: int = 0
    amount_fen: int = 0
    percent: int | None = None
    max_discount_fen: int | None = None
    sku: str | None = None
    item_text: str | None = None
    valid_days: int | None = None
    ends_on: date | None = None
    ends_at: int | None = None
    new_member_days: int | None = None
    stores: tuple[str, ...] | Literal["all"] | None = None
    name_given: bool = True


@dataclass(frozen=True, slots=True)
class CampaignError:
    """The parts of a command that could not be read, as machine codes, in order of appearance."""

    codes: tuple[str, ...]

    @property
    def unknown_tokens(self) -> tuple[str, ...]:
        return tuple(c.split(":", 1)[1] for c in self.codes if c.startswith("unknown_token:"))


# -- numbers -------------------------------------------------------------------------------------

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_CN = "零〇一二两三四五六七八九十百千万"
INT = rf"(?:\d+|[{_CN}]+)"
NUM = rf"(?>\d+(?:\.\d+)?|[{_CN}]+(?:点[零〇一二三四五六七八九]+)?)"  # atomic: 减100张 never reads 减10
_NOT_COUNT = r"(?!张|折|天|日|周|次|份|人)"  # a money number is never followed by a count unit


def _cn_int(s: str) -> int:
    if s.isdigit():
        return int(s)
    if not any(ch in _CN_UNIT or ch == "万" for ch in s):
        return int("".join(str(_CN_DIGIT[ch]) for ch in s))  # 二〇二六, 八五: read digit by digit
    total = section = digit = 0
    for ch in s:
        if ch in _CN_DIGIT:
            digit = _CN_DIGIT[ch]
        elif ch in _CN_UNIT:
            section += (digit or 1) * _CN_UNIT[ch]
            digit = 0
        else:  # 万
            total += (section + digit) * 10_000
            section = digit = 0
    return total + section + digit


def _number(s: str) -> Decimal:
    if "点" in s:
        whole, frac = s.split("点", 1)
        return Decimal(f"{_cn_int(whole) if whole else 0}.{_cn_int(frac):0{len(frac)}d}")
    if s[0].isdigit():
        return Decimal(s)
    return Decimal(_cn_int(s))


def _fen(s: str) -> int | None:
    """Yuan text -> fen, or None when it has fractions of a fen or is out of range."""
    try:
        value = _number(s) * 100
    except (InvalidOperation, KeyError, ValueError):
        return None
    if value != value.to_integral_value() or value > MAX_FEN:
        return None
    return int(value)


def _percent(s: str) -> int | None:
    """折 number -> percent paid: 9 -> 90, 8.5 -> 85, 85 -> 85, 八五 -> 85; None if not 10..99."""
    try:
        value = _number(s)
    except (InvalidOperation, KeyError, ValueError):
        return None
    if value != value.to_integral_value():
        value *= 10
        if value != value.to_integral_value():
            return None
    elif value < 10:
        value *= 10
    elif value % 10 == 0:  # 10折, 90折: no such discount, refuse rather than guess
        return None
    p = int(value)
    return p if 10 <= p <= 99 else None


def _yuan_text(fen: int) -> str:
    return f"{Decimal(fen) / 100:f}".rstrip("0").rstrip(".") if fen % 100 else str(fen // 100)


def percent_label(percent: int) -> str:
    """Percent paid -> the 折 number shown to users: 90 -> '9', 85 -> '8.5'."""
    return str(percent // 10) if percent % 10 == 0 else f"{percent // 10}.{percent % 10}"


# -- the scanner ---------------------------------------------------------------------------------

_SEP = r"\s,;、。!|"
YUAN = r"(?:元|块|rmb)?"
DATE = (rf"(?:(?P<y>\d{{4}}|[零〇一二三四五六七八九]{{4}})\s*[-/.年]\s*)?"
        rf"(?P<m>{INT})\s*[-/.月]\s*(?P<d>{INT})\s*[日号]?")
_UNSET: object = object()


@dataclass(slots=True)
class _Draft:
    now: datetime
    tz: tzinfo
    codes: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    tokens: int = 0
    name: str | None = None
    threshold: int | None = None
    amount: int | None = None
    percent: int | None = None
    cap: int | None = None
    no_threshold: bool = False
    whole_store: bool = False  # 全场: every item (the default), worth keeping in the name
    item: bool = False
    item_text: str | None = None
    total: int | None = None
    per_person: int | None = None
    valid_days: int | None = None
    ends_on: date | None = None
    new_member: object = _UNSET
    stores: object = _UNSET

    def claim(self, part: str) -> bool:
        """Mark a part as given; a second mention is reported instead of silently overriding."""
        if part in self.seen:
            self.codes.append(f"duplicate:{part}")
            return False
        self.seen.add(part)
        return True

    def set_money(self, part: str, text: str, error: str = "bad_amount") -> None:
        if not self.claim(part):
            return
        fen = _fen(text)
        if fen is None:
            self.codes.append(error)
        setattr(self, part, fen)


def _on_threshold_amount(m: re.Match[str], d: _Draft) -> None:
    d.set_money("threshold", m["t"])
    d.set_money("amount", m["a"])


def _on_threshold_percent(m: re.Match[str], d: _Draft) -> None:
    d.set_money("threshold", m["t"])
    _on_percent(m, d)


def _on_threshold(m: re.Match[str], d: _Draft) -> None:
    d.set_money("threshold", m["t"])


def _on_no_threshold(m: re.Match[str], d: _Draft) -> None:
    d.no_threshold = True
    if m["a"]:
        d.set_money("amount", m["a"])


def _on_amount(m: re.Match[str], d: _Draft) -> None:
    d.set_money("amount", m["a"])
    if m.groupdict().get("nt"):
        d.no_threshold = True


def _on_percent(m: re.Match[str], d: _Draft) -> None:
    if d.claim("percent"):
        d.percent = _percent(m["p"])
        if d.percent is None:
            d.codes.append("bad_percent")


def _on_cap(m: re.Match[str], d: _Draft) -> None:
    d.set_money("cap", m["c"], "bad_cap")


def _on_item(m: re.Match[str], d: _Draft) -> None:
    if d.claim("item"):
        d.item = True
        d.item_text = m.groupdict().get("i") or None


def _on_total(m: re.Match[str], d: _Draft) -> None:
    if d.claim("total"):
        d.total = _cn_int(m["n"])


def _on_per_person(m: re.Match[str], d: _Draft) -> None:
    if d.claim("per_person"):
        d.per_person = _cn_int(m["n"])


def _on_days(m: re.Match[str], d: _Draft) -> None:
    if d.claim("validity"):
        n = _cn_int(m["n"])
        d.valid_days = n * 7 if m["u"] == "周" else n
        if not 1 <= d.valid_days <= MAX_VALID_DAYS:
            d.codes.append("bad_validity")


def _on_until(m: re.Match[str], d: _Draft) -> None:
    if d.claim("validity"):
        d.ends_on = _resolve_date(m["y"], m["m"], m["d"], d.now, d.tz)
        if d.ends_on is None:
            d.codes.append("bad_validity")


def _on_new_member(m: re.Match[str], d: _Draft) -> None:
    if d.claim("new_member"):
        n = m.groupdict().get("n")
        d.new_member = _cn_int(n) if n else DEFAULT_NEW_MEMBER_DAYS
        if not 1 <= d.new_member <= MAX_NEW_MEMBER_DAYS:  # type: ignore[operator]
            d.codes.append("bad_new_member")


def _on_everyone(m: re.Match[str], d: _Draft) -> None:
    if d.claim("new_member"):
        d.new_member = None


def _on_whole_store(m: re.Match[str], d: _Draft) -> None:
    d.whole_store = True


def _on_all_stores(m: re.Match[str], d: _Draft) -> None:
    if d.claim("stores"):
        d.stores = ALL_STORES


def _on_own_store(m: re.Match[str], d: _Draft) -> None:
    if d.claim("stores"):
        d.stores = None


def _on_stores(m: re.Match[str], d: _Draft) -> None:
    if d.claim("stores"):
        ids = re.split(r"\s*[、,/]\s*", m["s"])
        d.stores = tuple(dict.fromkeys(s.upper() if s.isascii() else s for s in ids))


def _on_name(m: re.Match[str], d: _Draft) -> None:
    if d.claim("name"):
        d.name = m["name"].strip()


# a store id has a letter, so in "门店 S01、S02，100张 12-31前" the count and the date stay out of the list
_ID = r"(?:(?=\d*[A-Za-z])[A-Za-z0-9][A-Za-z0-9_-]*|[\u4e00-\u9fff]{1,12}?店)"
_MINUS = r"(?:立减|直减|减|-)"
_AFTER_DAYS_VALID = r"(?!(?:内|以内)?(?:有效|可用))"
_ITEM_STOP = rf"(?=[{_SEP}]|立减|直减|减|满|\d+(?:\.\d+)?\s*(?:元|块)|$)"

_Handler = Callable[[re.Match[str], _Draft], None]
# Tried in order at each position; the first match wins, so longer phrases come before their prefixes.
_SOURCES: list[tuple[str, _Handler]] = [
    (rf"[【「『“\"\[](?P<name>[^】」』”\"\]]{{1,{MAX_NAME}}})[】」』”\"\]]", _on_name),
    # rules
    (rf"满\s*(?P<t>{NUM}){_NOT_COUNT}\s*{YUAN}\s*{_MINUS}\s*(?P<a>{NUM}){_NOT_COUNT}\s*{YUAN}券?",
     _on_threshold_amount),
    (rf"满\s*(?P<t>{NUM})\s*{YUAN}\s*(?:可享|享受|享|可打|打)?\s*(?P<p>{NUM})\s*折(?:券|优惠)?",
     _on_threshold_percent),
    (rf"满\s*(?P<t>{NUM}){_NOT_COUNT}\s*{YUAN}(?:可使用|可用|使用|以上可用|以上)?", _on_threshold),
    # a number after 无门槛 is its amount only if glued to it and not a count (无门槛 100张)
    (rf"无门槛券?:?(?:{_MINUS})?(?:(?P<a>{NUM}){_NOT_COUNT}{YUAN}券?)?",
     _on_no_threshold),
    (rf"(?:立减|直减|减|优惠|抵)\s*(?P<a>{NUM}){_NOT_COUNT}\s*{YUAN}券?", _on_amount),
    (rf"(?:打|享|可享)?\s*(?P<p>{NUM})\s*折(?:券|优惠)?", _on_percent),
    (rf"(?:最高|最多|上限|封顶)\s*(?:可减|立减|减|优惠|抵扣|抵)?\s*(?P<c>{NUM})\s*{YUAN}(?:封顶)?",
     _on_cap),
    (rf"(?P<c>{NUM})\s*(?:元|块)\s*封顶", _on_cap),
    (rf"(?P<t>{NUM})\s*(?:元|块)\s*以上(?:可用|使用)?", _on_threshold),
    (rf"(?P<a>{NUM})\s*(?:元|块)券?(?P<nt>无门槛券?)?", _on_amount),
    (rf"单品券?:?\s*(?:(?:sku|商品|货号|编码|条码)\s*:?\s*)?(?!立减|直减|减|满)(?P<i>[^{_SEP}]+?){_ITEM_STOP}", _on_item),
    (r"单品券?", _on_item),
    # counts (per person first: "1张/人" must not read as a total)
    (rf"(?:每人|一人|每位顾客|每位|每个人|每个用户|每用户)\s*(?:限领|可领|最多领|最多|限|领)?\s*"
     rf"(?P<n>{INT})\s*(?:张|次|份)?券?", _on_per_person),
    (rf"限领\s*(?P<n>{INT})\s*(?:张|次)?", _on_per_person),
    (rf"(?P<n>{INT})\s*张\s*/\s*人", _on_per_person),
    (rf"(?:共|总共|总量|限量|发放|发|数量|库存)?:?\s*(?P<n>{INT})\s*张券?", _on_total),
    # validity
    (rf"(?:有效期|有效|可用)(?:为)?:?\s*(?P<n>{INT})\s*(?P<u>天|日|周)(?:内)?(?:有效)?", _on_days),
    (rf"领(?:取|券)?后\s*(?P<n>{INT})\s*(?P<u>天|日|周)(?:内|以内)?(?:有效|可用)?", _on_days),
    (rf"(?P<n>{INT})\s*(?P<u>天|日|周)(?:内|以内)?(?:有效|可用)", _on_days),
    (rf"(?:有效期|有效|可用)?:?\s*(?:至|到|截止到|截止|截至)\s*{DATE}(?:前|之前|为止|止)?(?:有效|可用)?",
     _on_until),
    (rf"(?:有效期|有效)?:?\s*{DATE}\s*(?:前|之前|为止|止)(?:有效|可用)?", _on_until),
    (rf"有效期:?\s*{DATE}", _on_until),
    # eligibility and scope
    (rf"(?P<name>[^{_SEP}]{{1,{MAX_NAME - 1}}}?券)", _on_name),
    (rf"(?:新人|新成员|新会员|新客)?\(?\s*(?:入群|进群|加群)\s*(?P<n>{INT})\s*(?:天|日)\s*(?:内|以内)?"
     rf"(?:的?(?:新人|新成员|用户|顾客))?(?:专享)?\)?", _on_new_member),
    (rf"(?:(?:新人|新成员|新会员|新客)\s*)?(?P<n>{INT})\s*(?:天|日)\s*(?:内|以内)\s*(?:入群|进群|加群)"
     rf"(?:的?(?:新人|新成员|用户|顾客))?(?:专享)?", _on_new_member),
    (rf"(?:仅限|只限|限)?(?:新人|新成员|新会员|新客)\s*\(?\s*(?P<n>{INT})\s*(?:天|日)\s*(?:内|以内)?{_AFTER_DAYS_VALID}\)?"
     rf"(?:专享)?", _on_new_member),
    (r"(?:仅限|只限|限)?(?:新人|新成员|新会员|新客)(?:专享|专属|限定|专用)?", _on_new_member),
    (r"(?:全员|所有人|不限新老|新老(?:客户|顾客|会员)?通用)(?:可领|可用)?", _on_everyone),
    (r"全场(?:商品)?(?:通用|可用|适用)?", _on_whole_store),  # 全场9折 is a rule on every item, not a name
    (r"(?:(?:全部|所有|全)门店|全店)(?:通用|可用|适用)?", _on_all_stores),
    (r"本(?:门)?店(?:可用|适用|专用)?", _on_own_store),
    (rf"(?:适用|限)?门店:?\s*(?P<s>{_ID}(?:\s*[、,/]\s*{_ID})*)", _on_stores),
]
_PATTERNS = [(re.compile(p, re.IGNORECASE), h) for p, h in _SOURCES]
_SKIP = re.compile(rf"[{_SEP}]+")
_COMMAND = re.compile(r"^\s*(?:@\S+\s+)*(?:/\s*发券|发券|/\S+)?")  # leading @bot mentions and the command word
_SKU = re.compile(r"[A-Za-z]{1,3}\d{2,6}|\d{8,14}")


def _match_at(text: str, pos: int) -> tuple[re.Match[str], _Handler] | None:
    for pattern, handler in _PATTERNS:
        m = pattern.match(text, pos)
        if m and m.end() > pos:
            return m, handler
    return None


def _resolve_date(y: str | None, m: str, d: str, now: datetime, tz: tzinfo) -> date | None:
    """Month/day (optional year) -> the date it means; a passed day without a year is next year's."""
    today = now.astimezone(tz).date()
    try:
        month, day = _cn_int(m), _cn_int(d)
        years = [_cn_int(y)] if y else [today.year, today.year + 1]
    except (KeyError, ValueError):
        return None
    for year in years:
        try:
            when = date(year, month, day)
        except ValueError:
            continue
        if when >= today:
            return when if (when - today).days < MAX_VALID_DAYS else None
    return None


def parse_campaign(text: str, now: datetime, tz: tzinfo = _SHANGHAI) -> CampaignSpec | CampaignError:
    """Parse a /发券 command (with or without the command word) into a spec or the reasons it fails."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=tz)
    text = unicodedata.normalize("NFKC", text or "")
    text = _COMMAND.sub("", text, count=1)
    if len(text) > MAX_TEXT:
        return CampaignError(("too_long",))
    d = _Draft(now=now, tz=tz)
    pos = 0
    while True:
        skip = _SKIP.match(text, pos)
        if skip:
            pos = skip.end()
        if pos >= len(text):
            break
        found = _match_at(text, pos)
        if found:
            m, handler = found
            handler(m, d)
            pos = m.end()
        else:
            # An unreadable word ends at a separator or where a readable part starts (周末福利满50减10).
            end = pos + 1
            while end < len(text) and not _SKIP.match(text, end) and not _match_at(text, end):
                end += 1
            word = text[pos:end]
            if d.tokens == 0 and d.name is None:
                d.seen.add("name")
                d.name = word
                if len(word) > MAX_NAME:
                    d.codes.append("bad_name")
            else:
                d.codes.append(f"unknown_token:{word}")
            pos = end
        d.tokens += 1
    if d.tokens == 0:
        return CampaignError(("empty",))
    return _finish(d)


def _finish(d: _Draft) -> CampaignSpec | CampaignError:
    codes = d.codes
    kind: Kind | None = None
    threshold = d.threshold or 0
    rule_seen = {"amount", "percent", "item", "threshold"} & d.seen or d.no_threshold
    if d.no_threshold and "threshold" in d.seen:
        codes.append("conflicting_rule")
    if d.item:
        kind = "item"
        if "percent" in d.seen:
            codes.append("conflicting_rule")
        if not d.item_text:
            codes.append("missing_item")
    elif "percent" in d.seen:
        kind = "percent"
        if "amount" in d.seen:
            codes.append("conflicting_rule")
    elif "amount" in d.seen:
        kind = "threshold" if threshold else "no_threshold"
    elif rule_seen:
        codes.append("missing_amount")
    else:
        codes.append("missing_rule")
    if kind == "item" and "amount" not in d.seen:
        codes.append("missing_amount")
    if "cap" in d.seen and kind != "percent":
        codes.append("cap_without_percent")
    if d.cap == 0:
        codes.append("bad_cap")
    if kind in ("threshold", "no_threshold", "item") and d.amount == 0:
        codes.append("bad_amount")
    if kind in ("threshold", "item") and d.amount and threshold and d.amount >= threshold:
        codes.append("discount_exceeds_threshold")

    if "total" not in d.seen:
        codes.append("missing_total")
    elif not 1 <= (d.total or 0) <= MAX_TOTAL:
        codes.append("bad_total")
    per_person = 1 if d.per_person is None else d.per_person
    if not 1 <= per_person <= MAX_PER_PERSON:
        codes.append("bad_per_person")
    elif d.total and 1 <= d.total <= MAX_TOTAL and per_person > d.total:
        codes.append("per_person_exceeds_total")
    if "validity" not in d.seen:
        codes.append("missing_validity")

    if codes or kind is None:
        return CampaignError(tuple(dict.fromkeys(codes)))

    name = d.name
    new_member = d.new_member
    if new_member is _UNSET:
        new_member = DEFAULT_NEW_MEMBER_DAYS if name and "新人" in name else None
    stores = None if d.stores is _UNSET else d.stores
    item_text = d.item_text.strip() if d.item_text else None
    sku = item_text.upper() if item_text and _SKU.fullmatch(item_text) else None
    ends_at = None
    if d.ends_on is not None:
        ends_at = int(datetime.combine(d.ends_on, time(23, 59, 59), tzinfo=d.tz).timestamp())
    spec = CampaignSpec(
        name=name or "",
        kind=kind,
        total=d.total or 0,
        per_person=per_person,
        threshold_fen=threshold,
        amount_fen=d.amount or 0,
        percent=d.percent,
        max_discount_fen=d.cap,
        sku=sku,
        item_text=item_text,
        valid_days=d.valid_days,
        ends_on=d.ends_on,
        ends_at=ends_at,
        new_member_days=new_member,  # type: ignore[arg-type]
        stores=stores,  # type: ignore[arg-type]
        name_given=name is not None,
    )
    if name is not None:
        return spec
    return replace(spec, name=("全场" if d.whole_store else "") + rule_label(spec))


def rule_label(spec: CampaignSpec) -> str:
    """The rule in the guide's own vocabulary (满50减10, 无门槛5元, 满30享9折, 单品F001减8元); the default name."""
    threshold = f"满{_yuan_text(spec.threshold_fen)}" if spec.threshold_fen else ""
    if spec.kind == "percent":
        return f"{threshold}{'享' if threshold else ''}{percent_label(spec.percent or 0)}折"
    amount = _yuan_text(spec.amount_fen)
    if spec.kind == "threshold":
        return f"{threshold}减{amount}"
    if spec.kind == "no_threshold":
        return f"无门槛{amount}元"
    return f"单品{spec.sku or spec.item_text}{threshold}减{amount}元"


# -- using a spec --------------------------------------------------------------------------------

def discount_for(spec: CampaignSpec, order_fen: int) -> int:
    """Discount in fen for an order of `order_fen` (for 单品: the amount spent on that item).

    0 below the threshold; never more than the order itself. 折扣 rounds half up to the fen and then
    applies the cap (最高减).
    """
    if order_fen < 0:
        raise ValueError("order_fen must not be negative")
    if order_fen == 0 or order_fen < spec.threshold_fen:
        return 0
    if spec.kind == "percent":
        off = (order_fen * (100 - (spec.percent or 100)) + 50) // 100
        if spec.max_discount_fen is not None:
            off = min(off, spec.max_discount_fen)
        return off
    return min(spec.amount_fen, order_fen)


def describe(spec: CampaignSpec) -> dict[str, object]:
    """Template-friendly fields; money stays in fen (use the `yuan` filter), times in epoch seconds."""
    if spec.stores is None:
        scope, stores = "own", []
    elif spec.stores == ALL_STORES:
        scope, stores = "all", []
    else:
        scope, stores = "listed", list(spec.stores)
    return {
        "name": spec.name,
        "name_given": spec.name_given,
        "kind": spec.kind,
        "rule": rule_label(spec),
        "threshold_fen": spec.threshold_fen,
        "amount_fen": spec.amount_fen,
        "percent": spec.percent,
        "percent_label": percent_label(spec.percent) if spec.percent is not None else None,
        "max_discount_fen": spec.max_discount_fen,
        "sku": spec.sku,
        "item_text": spec.item_text,
        "total": spec.total,
        "per_person": spec.per_person,
        "validity": "days" if spec.valid_days is not None else "until",
        "valid_days": spec.valid_days,
        "ends_on": spec.ends_on.isoformat() if spec.ends_on else None,
        "ends_at": spec.ends_at,
        "new_members_only": spec.new_member_days is not None,
        "new_member_days": spec.new_member_days,
        "store_scope": scope,
        "stores": stores,
    }


_INT_FIELDS = ("total", "per_person", "threshold_fen", "amount_fen", "percent", "max_discount_fen",
               "valid_days", "ends_at", "new_member_days")


def to_record(spec: CampaignSpec) -> dict[str, str]:
    """Flat string fields for a Redis hash (HSET) that Lua can read; '' stands for None."""
    rec = {k: "" if getattr(spec, k) is None else str(getattr(spec, k)) for k in _INT_FIELDS}
    stores = spec.stores
    rec.update(
        name=spec.name,
        kind=spec.kind,
        sku=spec.sku or "",
        item_text=spec.item_text or "",
        ends_on=spec.ends_on.isoformat() if spec.ends_on else "",
        stores="" if stores is None else stores if stores == ALL_STORES else ",".join(stores),
        name_given="1" if spec.name_given else "0",
    )
    return rec


def from_record(rec: Mapping[str | bytes, str | bytes]) -> CampaignSpec:
    """Inverse of `to_record`; also takes the bytes keys and values redis-py returns by default."""
    r = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
         for k, v in rec.items()}
    ints = {k: int(r[k]) if r.get(k) else None for k in _INT_FIELDS}
    stores = r.get("stores") or None
    return CampaignSpec(
        name=r["name"],
        kind=r["kind"],  # type: ignore[arg-type]
        total=ints["total"] or 0,
        per_person=ints["per_person"] or 1,
        threshold_fen=ints["threshold_fen"] or 0,
        amount_fen=ints["amount_fen"] or 0,
        percent=ints["percent"],
        max_discount_fen=ints["max_discount_fen"],
        sku=r.get("sku") or None,
        item_text=r.get("item_text") or None,
        valid_days=ints["valid_days"],
        ends_on=date.fromisoformat(r["ends_on"]) if r.get("ends_on") else None,
        ends_at=ints["ends_at"],
        new_member_days=ints["new_member_days"],
        stores=None if stores is None else ALL_STORES if stores == ALL_STORES else tuple(stores.split(",")),
        name_given=r.get("name_given", "1") == "1",
    )
