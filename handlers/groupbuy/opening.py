"""Parse a guide's /开团 command into an OpenSpec, or say precisely which parts could not be read.

    /开团 丹东99草莓 36.9元/盒 限200盒 每人限4盒 满20盒成团 截止今晚20:00 自提周六10-12点服务台

The text is cut into fields at blanks, commas, ｜ and line breaks (never inside parentheses); each
field is recognised by its keyword or shape, in any order. The product is the unrecognised text
at the start of the line that carries the price (a pasted multi-line 接龙 header works too).

Price rule: `price_fen` is always the price of ONE `unit`, the unit shoppers count in. A multi-buy
offer ("69元2盒", "团购价2盒69") is kept as `bundle` = Bundle(qty=2, price_fen=6900) and the unit
stays 盒; the per-unit price is the one written next to it ("单盒36.9") or else the bundle price
divided by its quantity, rounded half up to the fen (69元2盒 -> 3450).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby

from bot.render import day_label

from .numerals import CLASSIFIERS, UNIT_ALIASES, parse_number
from .text import clean
from .when import parse_deadline, pickup_day

# Machine codes for what could not be read; templates turn each into a sentence with an example.
MISSING_TITLE = "missing_title"
MISSING_PRICE = "missing_price"
BAD_PRICE = "bad_price"
MISSING_CUTOFF = "missing_cutoff"
BAD_CUTOFF = "bad_cutoff"
CUTOFF_PAST = "cutoff_past"
MISSING_PICKUP = "missing_pickup"
BAD_CAP = "bad_cap"
BAD_LIMIT = "bad_limit"
BAD_MIN = "bad_min"
LIMIT_OVER_CAP = "limit_over_cap"
MIN_OVER_CAP = "min_over_cap"
UNIT_CONFLICT = "unit_conflict"
PICKUP_BEFORE_CUTOFF = "pickup_before_cutoff"

DEFAULT_UNIT = "份"


@dataclass(frozen=True, slots=True)
class Bundle:
    """A multi-buy price: `qty` units for `price_fen` (2盒69 -> Bundle(2, 6900))."""

    qty: int
    price_fen: int


@dataclass(frozen=True, slots=True)
class OpenSpec:
    """A fully readable 团. Money in fen; `cutoff` aware in the requested timezone.

    `cap`, `per_person_limit`, `min_to_form` are None when not written (unlimited / none).
    `title` is the product text as written (resolve it against the catalog, else use it verbatim);
    `spec` a pack spec such as 500g/盒; `notes` every fragment that matched no field, verbatim.
    """

    title: str
    price_fen: int
    unit: str
    cutoff: datetime
    pickup: str
    cap: int | None = None
    per_person_limit: int | None = None
    min_to_form: int | None = None
    bundle: Bundle | None = None
    list_price_fen: int | None = None
    spec: str | None = None
    notes: tuple[str, ...] = ()
    # False when the price carried no unit of its own (团购价198, a bare 36.9): its unit is then
    # borrowed from the cap or defaulted, which the caller may want to ask about.
    price_unit_written: bool = field(default=True, compare=False)


@dataclass(frozen=True, slots=True)
class OpenDraft:
    """Whatever was readable in a command that failed; same meaning as the OpenSpec fields."""

    title: str | None = None
    price_fen: int | None = None
    unit: str | None = None
    cutoff: datetime | None = None
    pickup: str | None = None
    cap: int | None = None
    per_person_limit: int | None = None
    min_to_form: int | None = None
    bundle: Bundle | None = None
    list_price_fen: int | None = None
    spec: str | None = None
    notes: tuple[str, ...] = ()
    units: tuple[str, ...] = ()  # every counting unit written, when they disagree


@dataclass(frozen=True, slots=True)
class OpenError:
    """The command could not become a 团. `codes` lists every problem (module constants), in a
    stable order; `draft` holds the parts that were read, so the reply can echo them."""

    codes: tuple[str, ...]
    draft: OpenDraft


_CL = "|".join(sorted(map(re.escape, CLASSIFIERS), key=len, reverse=True))
_N = r"(?P<n>\d+|[零〇一二两三四五六七八九十百千]+)\s*(?P<cl>" + _CL + r")?"
_P = r"(?P<p>\d+(?:\.\d{1,2})?)"
_PRICE_KW = r"(?:团购价|团价|拼团价|活动价|特价|秒杀价|到手价|优惠价|售价|单价|现价|价格|价)"
_LIST_KW = r"(?:原价|门店价|市场价|零售价|日常价|超市价|专柜价|划线价)"
_YUAN = r"(?:元|块)"

# The command word, also as guides write it in a post: 开团啦！, 开团了~, 今日开团:
_COMMAND = re.compile(r"^\s*[/#]?\s*(?:(?:今日|今天|新)?开团|開團|开个团|发起团购|团购)(?:啦|了|咯|喽|啰)?\s*[:!~～,]*\s*")
_NUMBERED = re.compile(r"^\d{1,3}\s*[.、,:)](?!\d)")
_SEPARATORS = set(" \t,;|、。")
_OPEN_BRACKETS = {"(": ")", "【": "】", "[": "]"}

_CUTOFF_KW = re.compile(r"^(?:截止|截单|截团|截至|结单)(?:时间|日期)?\s*[:]?\s*(?P<v>.*)$")
_CUTOFF_SUFFIX = re.compile(r"^(?P<v>.+?)前?(?:截止|截单|截团)$")
_PICKUP_KW = re.compile(r"^(?:自提|提货|取货)(?:点|地点|地址|时间|方式)?\s*[:]?\s*(?P<v>.*)$")
_PICKUP_SUFFIX = re.compile(r"^(?P<v>.+?)(?:自提|提货|取货)$")  # 周六10-12点服务台自提
_LIMIT = (
    re.compile(r"^(?:每人|每户|每家|每位|每个人|每个账号|单人|一人|一户|个人)(?:限购|限|最多买|最多|可买|至多)?\s*[:]?\s*" + _N),
    re.compile(r"^限购\s*[:]?\s*" + _N),
    re.compile(r"^(?:限)?" + _N + r"\s*(?:/|每)(?:人|户)"),
)
_NO_LIMIT = re.compile(r"^不限购")
_MIN = (
    re.compile(r"^(?:满|凑满|凑够|够)\s*" + _N + r"\s*(?:即|就|才)?(?:可)?(?:成团|开团|发货)"),
    re.compile(r"^" + _N + r"\s*(?:起团|成团)"),
    re.compile(r"^(?:成团|起团|最低|最少|起订)(?:数量|量|数)?\s*[:]?\s*" + _N),
    re.compile(r"^" + _N + r"\s*起(?:订|送|售)?$"),
)
_CAP = (
    re.compile(r"^(?:限量|限|共|总共|总量|一共|库存|仅限|仅|只有|总)\s*[:]?\s*" + _N),
    re.compile(r"^" + _N + r"\s*(?:封顶|售完即止|卖完为止)"),
)
_NO_CAP = re.compile(r"^不限(?:量)?$")
_PER_HEAD_AFTER = re.compile(r"^\s*(?:/|每)?(?:人|户)")
_LIST_PRICE = re.compile(r"^" + _LIST_KW + r"\s*[:]?\s*¥?\s*" + _P + r"\s*" + _YUAN + r"?")
_UNIT_PRICE = re.compile(r"^单(?P<cl>" + _CL + r")(?:价)?\s*[:]?\s*¥?\s*" + _P + r"\s*" + _YUAN + r"?")
_PRICE_PER_UNIT = re.compile(
    r"^(?:" + _PRICE_KW + r"\s*[:]?\s*)?¥?\s*" + _P + r"\s*" + _YUAN + r"?\s*(?:/|每|一)\s*(?P<cl>" + _CL + r")")
_BUNDLE_PRICE_FIRST = re.compile(
    r"^(?:" + _PRICE_KW + r"\s*[:]?\s*)?¥?\s*" + _P + r"\s*" + _YUAN + r"\s*" + _N)
_BUNDLE_QTY_FIRST = re.compile(
    r"^(?P<kw>" + _PRICE_KW + r"\s*[:]?\s*)?" + _N + r"\s*(?:共|只要|仅)?\s*(?P<yen>¥)?\s*" + _P + r"\s*(?P<yuan>" + _YUAN + r")?")
_PLAIN_PRICE = (
    re.compile(r"^" + _PRICE_KW + r"\s*[:]?\s*¥?\s*" + _P + r"\s*" + _YUAN + r"?"),
    re.compile(r"^¥\s*" + _P + r"\s*" + _YUAN + r"?"),
    re.compile(r"^" + _P + r"\s*" + _YUAN),
)
# Money written with blanks (36.9 元 / 盒) or the spoken way (36块9, 36元9角) is glued into one
# token (36.9元/盒) before the text is cut into fields.
_MONEY_GAP = re.compile(r"(\d)\s+(?=[元块])")
_MONEY_SLASH = re.compile(r"([元块])\s*/\s*")
_SPOKEN_MONEY = re.compile(r"(?<![\d.])(\d+)[块元](\d)(?:毛|角)?(?=$|[\s/,;|、。)]|每|一)")
_BARE_PRICE = re.compile(r"^¥?\s*" + _P + r"$")  # 36.9 with no 元: the price when no other is written
_BARE_COUNT = re.compile(r"^" + _N + r"$")  # 20箱 with no keyword: the total on offer
_SPEC = re.compile(r"^(?:规格\s*[:]?\s*)?约?\d+(?:\.\d+)?\s*(?:g|kg|克|千克|斤|ml|毫升|l|升)(?:\s*[/*x×]\s*\S+)?")


@dataclass(slots=True)
class _Token:
    text: str
    line: int
    bracket: str = ""  # the opening bracket when the token was enclosed, else ""


@dataclass(slots=True)
class _Fields:
    title: str | None = None
    price_fen: int | None = None
    unit_price_fen: int | None = None
    bundle: tuple[int, int] | None = None
    list_price_fen: int | None = None
    units: list[str] = field(default_factory=list)
    cutoff_text: str | None = None
    pickup: list[str] = field(default_factory=list)
    cap: int | None = None
    limit: int | None = None
    min_to_form: int | None = None
    spec: str | None = None
    price_unit_written: bool = False
    codes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _tokens(lines: list[str]) -> list[_Token]:
    """Split at separators outside brackets; a bracketed part becomes its own token."""
    out: list[_Token] = []
    for no, line in enumerate(lines):
        buf: list[str] = []
        closing = ""
        opener = ""
        for ch in line:
            if closing:
                if ch == closing:
                    text = "".join(buf).strip()
                    if text:
                        out.append(_Token(text, no, opener))
                    buf, closing, opener = [], "", ""
                else:
                    buf.append(ch)
            elif ch in _OPEN_BRACKETS:
                if "".join(buf).strip():
                    out.append(_Token("".join(buf).strip(), no))
                buf, closing, opener = [], _OPEN_BRACKETS[ch], ch
            elif ch in _SEPARATORS:
                if "".join(buf).strip():
                    out.append(_Token("".join(buf).strip(), no))
                buf = []
            else:
                buf.append(ch)
        if "".join(buf).strip():
            out.append(_Token("".join(buf).strip(), no, opener))
    return out


def _glue_money(line: str) -> str:
    line = _MONEY_SLASH.sub(r"\1/", _MONEY_GAP.sub(r"\1", line))
    return _SPOKEN_MONEY.sub(r"\1.\2元", line)


def to_fen(p: str) -> int:
    """Yuan text (36.9) -> fen, rounded half up."""
    return int((Decimal(p) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _count(m: re.Match, f: _Fields, code: str) -> int | None:
    n = parse_number(m["n"])
    if m["cl"]:
        f.units.append(UNIT_ALIASES.get(m["cl"], m["cl"]))
    if n is None or n.denominator != 1 or n <= 0:
        f.codes.append(code)
        return None
    return int(n)


def _classify(tok: str, f: _Fields) -> str | None:
    """Record `tok` into `f` and return the field name, or None when it is no known field.

    Leftover text after a recognised prefix goes to notes.
    """
    if m := (_CUTOFF_KW.match(tok) or _CUTOFF_SUFFIX.match(tok)):
        f.cutoff_text = ((f.cutoff_text or "") + " " + m["v"]).strip()
        return "cutoff"
    if m := (_PICKUP_KW.match(tok) or _PICKUP_SUFFIX.match(tok)):
        f.pickup.append(m["v"].strip())
        return "pickup"
    if _NO_LIMIT.match(tok):
        return "limit"
    for rx in _LIMIT:
        if m := rx.match(tok):
            f.limit = _count(m, f, BAD_LIMIT)
            return _rest(tok, m, f, "limit")
    for rx in _MIN:
        if m := rx.match(tok):
            f.min_to_form = _count(m, f, BAD_MIN)
            return _rest(tok, m, f, "min")
    if _NO_CAP.match(tok):
        return "cap"
    for rx in _CAP:
        if m := rx.match(tok):
            if _PER_HEAD_AFTER.match(tok[m.end():]):  # 限4盒/人 is a per-person limit
                f.limit = _count(m, f, BAD_LIMIT)
                return "limit"
            f.cap = _count(m, f, BAD_CAP)
            return _rest(tok, m, f, "cap")
    if m := _LIST_PRICE.match(tok):
        f.list_price_fen = to_fen(m["p"])
        return _rest(tok, m, f, "list_price")
    if m := _UNIT_PRICE.match(tok):
        f.unit_price_fen, f.price_unit_written = to_fen(m["p"]), True
        f.units.append(UNIT_ALIASES.get(m["cl"], m["cl"]))
        return _rest(tok, m, f, "price")
    if m := _PRICE_PER_UNIT.match(tok):
        f.price_fen, f.price_unit_written = to_fen(m["p"]), True
        f.units.append(UNIT_ALIASES.get(m["cl"], m["cl"]))
        return _rest(tok, m, f, "price")
    m = _BUNDLE_PRICE_FIRST.match(tok)
    if not m:
        m = _BUNDLE_QTY_FIRST.match(tok)
        if m and not (m["kw"] or m["yen"] or m["yuan"]):
            m = None
    if m and m["cl"]:
        n = parse_number(m["n"])
        f.price_unit_written = True
        f.units.append(UNIT_ALIASES.get(m["cl"], m["cl"]))
        if n is None or n.denominator != 1 or n <= 0:
            f.codes.append(BAD_PRICE)
        elif n == 1:
            f.price_fen = to_fen(m["p"])
        else:
            f.bundle = (int(n), to_fen(m["p"]))
        return _rest(tok, m, f, "price")
    for rx in _PLAIN_PRICE:
        if m := rx.match(tok):
            f.price_fen = to_fen(m["p"])
            return _rest(tok, m, f, "price")
    if m := _SPEC.match(tok):
        f.spec = m.group().removeprefix("规格").lstrip(" :")
        return _rest(tok, m, f, "spec")
    if (m := _BARE_COUNT.match(tok)) and m["cl"] and f.cap is None:
        f.cap = _count(m, f, BAD_CAP)
        return "cap"
    return None


def _rest(tok: str, m: re.Match, f: _Fields, kind: str) -> str:
    rest = tok[m.end():].strip(" :")
    if rest:
        f.notes.append(rest)
    return kind


def parse_open(text: str, now: datetime, tz: tzinfo) -> OpenSpec | OpenError:
    """Parse a /开团 command (with or without the command word) sent at `now`.

    `now` may be naive (taken as wall time in `tz`) or aware (converted to `tz`). Returns an
    OpenSpec when title, price, cutoff (in the future) and pickup are all readable and the numbers
    agree (per-person limit and minimum not above the cap, one counting unit); otherwise an
    OpenError whose `codes` name every problem found, with the readable parts in `draft`.
    Cap, per-person limit and minimum are optional; the unit defaults to 份 when none is written.
    """
    now = now.astimezone(tz) if now.tzinfo else now.replace(tzinfo=tz)
    lines = [_glue_money(ln) for ln in clean(text, emoji_words=False).split("\n")]
    if lines:
        lines[0] = _COMMAND.sub("", lines[0])
    lines = [ln for ln in lines if ln and not ln.startswith("#接龙") and not _NUMBERED.match(ln)]
    f = _Fields()
    tokens = _tokens(lines)
    kinds: list[str | None] = [_classify(t.text, f) if t.bracket != "【" else None for t in tokens]
    _bare_price(tokens, kinds, f)

    # Fields whose text may contain blanks swallow the unrecognised tokens after them on their line.
    absorbing = None
    for i, (tok, kind) in enumerate(zip(tokens, kinds)):
        if kind is not None:
            absorbing = kind if kind in ("cutoff", "pickup") else None
            continue
        if absorbing and tokens[i - 1].line == tok.line:
            piece = f"({tok.text})" if tok.bracket == "(" else tok.text
            if absorbing == "cutoff":
                f.cutoff_text = f"{f.cutoff_text} {piece}".strip()
            else:
                f.pickup[-1] = f"{f.pickup[-1]} {piece}".strip()
            kinds[i] = absorbing
        else:
            absorbing = None

    f.title = _title(tokens, kinds, f)
    return _build(f, now)


def _bare_price(tokens: list[_Token], kinds: list[str | None], f: _Fields) -> None:
    """A lone number (36.9, ¥36) before the cutoff and pickup is the price when none is written
    with 元 or a price word; the draft shows it with its unit, so the guide sees the reading."""
    if f.price_fen is not None or f.unit_price_fen is not None or f.bundle is not None:
        return
    for i, (tok, kind) in enumerate(zip(tokens, kinds)):
        if kind in ("cutoff", "pickup"):
            return
        if kind is None and not tok.bracket and (m := _BARE_PRICE.match(tok.text)):
            f.price_fen, kinds[i] = to_fen(m["p"]), "price"
            return


def _title(tokens: list[_Token], kinds: list[str | None], f: _Fields) -> str | None:
    """Leading unrecognised tokens of the line carrying the price (else of the first line);
    a 【…】 heading is the fallback. Every other unrecognised token becomes a note."""
    price_lines = [t.line for t, k in zip(tokens, kinds) if k == "price"]
    title_line = price_lines[0] if price_lines else (tokens[0].line if tokens else -1)
    title_parts: list[str] = []
    heading = None
    started = False
    loose: list[_Token] = []
    for tok, kind in zip(tokens, kinds):
        if kind is not None:
            if tok.line == title_line:
                started = True
            continue
        if tok.bracket == "【" and heading is None:
            heading = tok.text
        elif tok.line == title_line and not started:
            title_parts.append(tok.text)
        else:
            loose.append(tok)
    for _, group in groupby(loose, key=lambda t: t.line):
        f.notes.append(" ".join(t.text for t in group))
    return " ".join(title_parts) or heading


def _absolute_pickup(pickup: str, now: datetime, cutoff: datetime) -> tuple[str, bool]:
    """The pickup text with its day words resolved once (明天下午 -> 12月6日 周日 下午), so it
    stays true days later, and whether that pickup ends before the cutoff."""
    found = pickup_day(pickup, now, cutoff)
    if found is None:
        return pickup, False
    at, start, end = found
    label = day_label((at - timedelta(minutes=1)).date() if at.hour == at.minute == 0 else at.date(), now.date())
    text = f"{pickup[:start].strip()} {label} {pickup[end:].strip()}".strip()
    return text, at <= cutoff


def _build(f: _Fields, now: datetime) -> OpenSpec | OpenError:
    codes = list(f.codes)
    if not f.title:
        codes.append(MISSING_TITLE)
    price = f.unit_price_fen if f.unit_price_fen is not None else f.price_fen
    bundle = Bundle(*f.bundle) if f.bundle else None
    if price is None and bundle is not None:
        price = int((Decimal(bundle.price_fen) / bundle.qty).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if price is None:
        codes.append(MISSING_PRICE)
    elif price <= 0 and BAD_PRICE not in codes:
        codes.append(BAD_PRICE)
    specific = list(dict.fromkeys(u for u in f.units if u != DEFAULT_UNIT))
    if len(specific) > 1:
        codes.append(UNIT_CONFLICT)
    unit = specific[0] if specific else DEFAULT_UNIT
    cutoff = None
    if f.cutoff_text is None:
        codes.append(MISSING_CUTOFF)
    else:
        cutoff = parse_deadline(f.cutoff_text, now)
        if cutoff is None:
            codes.append(BAD_CUTOFF)
        elif cutoff <= now:
            codes.append(CUTOFF_PAST)
    pickup = " ".join(p for p in f.pickup if p) or None
    if pickup is None:
        codes.append(MISSING_PICKUP)
    elif cutoff is not None:
        pickup, early = _absolute_pickup(pickup, now, cutoff)
        if early:
            codes.append(PICKUP_BEFORE_CUTOFF)
    if f.cap is not None and f.limit is not None and f.limit > f.cap:
        codes.append(LIMIT_OVER_CAP)
    if f.cap is not None and f.min_to_form is not None and f.min_to_form > f.cap:
        codes.append(MIN_OVER_CAP)
    common = dict(cap=f.cap, per_person_limit=f.limit, min_to_form=f.min_to_form, bundle=bundle,
                  list_price_fen=f.list_price_fen, spec=f.spec, notes=tuple(f.notes))
    if codes:
        return OpenError(tuple(dict.fromkeys(codes)), OpenDraft(
            title=f.title, price_fen=price, unit=unit, cutoff=cutoff, pickup=pickup, units=tuple(specific), **common))
    return OpenSpec(title=f.title, price_fen=price, unit=unit, cutoff=cutoff, pickup=pickup,
                    price_unit_written=f.price_unit_written, **common)
