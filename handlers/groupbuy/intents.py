"""Turn one shopper message into a group-buy intent against the currently open 团.

    parse_shopper("+2 3栋502", [GroupRef(1, "丹东99草莓", ("草莓",), "盒")])
    -> Join(group_id=1, qty=2, pickup_tag="3栋502")

The parser is deliberately shy: a message becomes an order only on a clear signal (+N, -N, a
verb directly followed by a quantity such as 来俩 / 给我留3盒, a 接龙 keyword, 改成…, 取消…, or
product + quantity pairs such as 草莓2 脐橙1). Price and shop questions (五花肉多少钱一斤,
几点关门) and chatter are NotGroupBuy, so other features can answer them. When the line is clear
but the target is not, it asks back instead of guessing: AskWhich (no product named while two or
more 团 are open) and AskUnit (2斤 for a 团 counted in 盒, 半盒, 改成3 without a unit).

Quantities in intents are always whole numbers in the 团's own unit (份 and bare numbers mean
that unit; 1公斤 is 2 for a 斤 团). Ownership is not decided here: the ledger applies an intent
to the sender's own entries only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from collections.abc import Iterable, Sequence
from typing import ClassVar

from bot import text as base_text

from .names import OtherNames
from .numerals import (COLLOQUIAL, MASK, PROTECTED_NAMES, Quantity, convert, find_quantities, mask,
                       parse_number, read_at)
from .text import clean


# ---------------------------------------------------------------------------------------------
# Public types


@dataclass(frozen=True, slots=True)
class GroupRef:
    """An open 团 as the parser sees it. `unit` is its counting unit (盒, 箱, 斤, 份...)."""

    id: int
    product: str
    aliases: tuple[str, ...] = ()
    unit: str = "份"


@dataclass(frozen=True, slots=True)
class Item:
    """`qty` units of the 团 `group_id` (used by Multi)."""

    group_id: int
    qty: int


@dataclass(frozen=True, slots=True)
class Join:
    """Sign up for `qty` of one 团. `on_behalf_of` labels a proxy line (帮我妈也报一份 -> 我妈);
    `name` is a display name written in the line (接龙 草莓 两盒 张阿姨 -> 张阿姨)."""

    kind: ClassVar[str] = "join"
    group_id: int
    qty: int
    pickup_tag: str | None = None
    on_behalf_of: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Multi:
    """Sign up for several 团 in one line (草莓2 脐橙1). Items are in the order written."""

    kind: ClassVar[str] = "multi"
    items: tuple[Item, ...]
    pickup_tag: str | None = None
    on_behalf_of: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class SetQty:
    """Set the sender's quantity to `qty` (absolute: 改成3份). `from_qty` is the old amount when
    written (2盒改1盒). `group_ids`: see Cancel."""

    kind: ClassVar[str] = "set"
    group_ids: tuple[int, ...]
    qty: int
    from_qty: int | None = None
    on_behalf_of: str | None = None


@dataclass(frozen=True, slots=True)
class AddQty:
    """Change the sender's quantity by `delta` (再加一份 +1, -1, 减一份 -1). `group_ids`: see Cancel."""

    kind: ClassVar[str] = "add"
    group_ids: tuple[int, ...]
    delta: int
    on_behalf_of: str | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    """Remove the sender's lines: all of them, only the proxy line for `on_behalf_of`, or entry
    number `entry_no` (第5个删掉; the ledger must check the sender owns it).

    `group_ids` (also on SetQty/AddQty) holds one id when a product was named or one 团 is open;
    several ids when the line named none: narrow them to the 团 where the sender has entries and
    ask only if more than one remains.
    """

    kind: ClassVar[str] = "cancel"
    group_ids: tuple[int, ...]
    on_behalf_of: str | None = None
    entry_no: int | None = None


@dataclass(frozen=True, slots=True)
class ListLine:
    """One numbered line of a pasted 接龙 list.

    `group_id` is the product named in the line, else the list's 团 when that is unambiguous,
    else None (problem ambiguous_group). `qty` is in that 团's unit (as written when group_id is
    None), None when missing or unusable; `problem` says why: no_qty, unit_mismatch, fraction,
    multi_item (several products on one line). `unit` is the classifier as written.
    """

    no: int
    name: str | None
    tag: str | None
    qty: int | None
    unit: str | None
    group_id: int | None
    problem: str | None
    raw: str


@dataclass(frozen=True, slots=True)
class ListPaste:
    """A pasted/reposted numbered 接龙 list. Only the sender's new or changed line counts: diff
    `lines` against the ledger. `header` holds the lines above the list; `group_ids` the 团 the
    header names, else every open 团; `native` is True when it starts with #接龙."""

    kind: ClassVar[str] = "list_paste"
    group_ids: tuple[int, ...]
    lines: tuple[ListLine, ...]
    header: tuple[str, ...] = ()
    native: bool = False


@dataclass(frozen=True, slots=True)
class QueryMine:
    """我报了几份: the sender's own entries in `group_ids`."""

    kind: ClassVar[str] = "query_mine"
    group_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class QueryCutoff:
    """截单了吗 / 还能接吗 / 成团了吗: cutoff time and status of `group_ids`."""

    kind: ClassVar[str] = "query_cutoff"
    group_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class QueryPickup:
    """在哪提货 / 几点提货: pickup place and window of `group_ids`."""

    kind: ClassVar[str] = "query_pickup"
    group_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AskWhich:
    """A clear join that names no product while several 团 are open: ask which of `group_ids`.

    The other fields describe the pending join; `qty`/`unit` are as written (两盒 -> 2, "盒"),
    not yet checked against a 团. Once the shopper picks one, re-run
    parse_shopper(original_text, [chosen_group]) to get the exact Join (or AskUnit).
    """

    kind: ClassVar[str] = "ask_which"
    group_ids: tuple[int, ...]
    qty: int = 1
    unit: str | None = None
    pickup_tag: str | None = None
    on_behalf_of: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class AskUnit:
    """A quantity that cannot be taken as written: ask back.

    `reason`: unit_mismatch (2斤 for a 盒 团), fraction (半盒, 1.5斤 of a 斤 团), no_unit (改成3),
    too_many (+1000: more than any one shopper orders, most likely a typo).
    `written` is the quantity as typed ("2斤", "3"); `unit` the 团's unit; `action` what the line
    wanted (join, multi, set, add).
    """

    kind: ClassVar[str] = "ask_unit"
    group_ids: tuple[int, ...]
    action: str
    written: str
    unit: str
    reason: str


@dataclass(frozen=True, slots=True)
class NotGroupBuy:
    """Not a group-buy action. `reason` is for logs and tests: no_open_group, empty, question,
    other_product, same_as_previous, empty_list, no_signal."""

    kind: ClassVar[str] = "none"
    reason: str


Intent = (Join | Multi | SetQty | AddQty | Cancel | ListPaste | QueryMine | QueryCutoff | QueryPickup
          | AskWhich | AskUnit | NotGroupBuy)


# ---------------------------------------------------------------------------------------------
# Vocabulary

_PUNCT = " ,.!?;:~、。…'\"“”‘’()[]【】<>《》/\\|-_=+*#&^%$@"
_TAG = re.compile(
    r"(?:[a-z]区?|[东西南北]区)?\d{1,3}\s*(?:栋|幢|号楼|座|#)\s*(?:\d{1,2}\s*(?:单元|-)\s*)?\d{2,5}\s*(?:室|号)?"
    r"|(?:[a-z]区?|[东西南北]区)?\d{1,3}-\d{1,2}-\d{2,5}"
    r"|(?<![\d-])(?:[a-z]区?)?\d{1,3}-\d{2,5}(?!\d)"
    r"|\d{1,3}\s*(?:栋|幢|号楼)(?:\s*\d{1,2}\s*单元)?"
    r"|\d{3,5}\s*室"
    r"|(?:手机尾号|尾号|后四位)\s*\d{4}")

_KIN = rf"我{base_text.alternation(base_text.KIN)}|邻居\w{{0,3}}"  # data/lexicon/kin.tsv
_PROXY_VERBS = r"(?:报名|报|接龙|接|要|留|订|定|登记|加|来|拿|下单)"
_PROXY_HELP = re.compile(rf"(?:帮|给|替|为)(?P<who>[^\x00\d\s{re.escape(_PUNCT)}]{{1,8}}?)(?:也|一起|顺便|再)?(?={_PROXY_VERBS})")
_PROXY_LINE = re.compile(r"帮报\s*(?P<n>\d{1,3})\s*(?P<who>[^\d\s\x00]{1,8})")
_PROXY_KIN = re.compile(rf"(?P<who>{_KIN})(?:也|还)?(?={_PROXY_VERBS})")
_PROXY_OWNED = re.compile(rf"(?:帮|给|替)?(?P<who>{_KIN}|\w{{1,3}}(?:姐|哥|阿姨|叔叔|叔|奶奶|爷爷|婆婆|老师))(?:的|那份|那一份|那个)")
_PROXY_FOR = re.compile(rf"(?:给|帮|替)(?P<who>{_KIN})")  # 留两份给我妈
_SELF = {"我", "我自己", "自己", "俺", "咱", "忙", "个忙", "下", "一下", "我们", "咱们", "大家"}

_INFO_Q = re.compile(r"多少钱|几块|什么价|啥价|价格|价钱|怎么卖|咋卖|贵不贵|多钱|关门|开门|营业|产地|哪里产|哪产的|"
                     r"保质期|甜不甜|甜吗|好吃|新鲜吗|有货|还有吗|还有没|有没有货|配送|送货|送到|券|满\d+减")
_GENERIC_Q = re.compile(r"\?|吗|呢|么|什么|怎么|哪|几|谁|啥|多少|是不是|能不能|可不可以|要不要|有没有|行不行")
_Q_MINE = re.compile(r"我(?:一共|总共)?(?:报|接|订|定|买|要|登记)了?(?:几|多少)|我(?:报名|接龙|报|接|订|定)(?:上|了)?(?:吗|没|了没)|"
                     r"我有没有(?:报|接|订)|我的?(?:接龙|订单)(?:是|有)?(?:几|多少|呢|吗|情况)|我是第?几号|"
                     r"查(?:一下|下)?我的?(?:接龙|订单|报名)")
_Q_CUTOFF = re.compile(r"(?:截单|截团|截止|结单|成团)了?(?:吗|没|么|了没)|"
                       r"(?:几点|什么时候|啥时候|何时|哪天|几号)(?:截单|截团|截止|结单|结束)|"
                       r"还(?:能|可以)(?:接|报|跟|参加|加|订|定|买)|截(?:单|止)时间|(?:能|可以)成团")
_Q_PICKUP = re.compile(r"(?:在哪里|在哪儿|在哪|哪里|哪儿|去哪|什么地方)(?:能|可以|去)?(?:提|拿|取|领)|"
                       r"(?:几点|什么时候|啥时候|哪天|何时|几号)(?:能|可以|去)?(?:提|拿|取|领)|"
                       r"(?:自提|提货|取货)(?:点|地址|地点|时间)?(?:在哪|是哪|是几点|几点|什么时候)|自提点|提货点|提货地址|提货时间")
_SAME = re.compile(r"^(?:同上|跟楼上一样|和楼上一样|同楼上|我也一样)")

_CANCEL = re.compile(r"取消|不要了|不要啦|不要咯|退出|退团|删掉|删除|删了|撤销|不参加了|不跟了|不接了|不买了|不订了|不定了")
_CANCEL_QUESTION = re.compile(r"(?:取消|退团|截单|结束)了(?:吗|没|么)|团取消")
_ORDINAL = re.compile(r"第\s*(?P<a>\d{1,3}|[一二三四五六七八九十]+)\s*(?:个|条|号|行|位)?"
                      r"|(?:把|删掉?|删除|取消)\s*(?P<b>\d{1,3})\s*号|(?P<c>\d{1,3})\s*号\s*(?=删|取消|不要)")
_SET = re.compile(r"改成|改为|改到|换成|变成|调成|改")
_ONLY = re.compile(r"只要")
_ADD = re.compile(r"再加|再来|再要|再报|再订|再定|再拿|多加|多要|多来|追加")
_SUB = re.compile(r"减少|减掉|减|少要|少来|(?<![至多不减缺很太])少|退掉|退|取消|去掉|删掉")
_MINUS = re.compile(r"(?:^|(?<=[\s,.!?;:、。]))-(?=\s*[\d一二两三四五六七八九十俩仨])")
_PLUS = re.compile(r"\+|(?<![参增添追再多])加")  # 加一份 is how +1 is said
_JOIN_VERB = re.compile(r"给我留|帮我留|给我来|我也要|我还要|也要|还要|我要|预定|预订|登记|报名|留|来|(?<!不)要|报|订|定|接|拿|买")
_JOIN_WORD = re.compile(r"接龙|我接|报名|算我一个|算我一份|算我|加我一个|加我|算上我|我也来|我参加|参团|跟团|跟一个|我也接|"
                        r"(?:我也要|我要)(?=$|[\s,.!~。])")
_EACH = re.compile(r"各(?:要|来)?")
_FILLER = re.compile(r"谢谢|谢了|多谢|麻烦了|麻烦|辛苦了|辛苦|拜托|好的|好滴|收到|ok|冲冲冲|冲|哈哈|嘿嘿|老板|亲|"
                     r"给我|帮我|一下|吃不完|刚才|刚刚|谢")
_NAME_STOP = set("不在了吗的吧呢啊呀哦她他你我是有没要就都也还很太这那哪和跟给把被能会想说到去看再又来拿取送提吃买卖收")
_NOT_NAME = re.compile(r"[今明后昨前]天|[上下中]午|晚上|早上|周[一二三四五六日天]|星期|礼拜")
_GENERIC_TERMS = {"礼盒", "套装", "组合", "家庭装", "特价", "新鲜", "包邮", "团购", "精选", "特级", "一级"}

_MAX_QTY = 999
_NO_OTHERS = OtherNames.of(())
_HIDDEN = "\x01"  # fill for protected names: not a quantity, but still content
_BARE_CL = re.compile(r"(?P<cl>份|盒|箱|袋|斤|提|瓶|串|包)")  # 来份草莓 = 来一份
_ROOM = re.compile(r"\d{3,5}")
_AFTER_QTY_OK = set("吧啊呀哦了的嘛呗哈呢哟噢喔给帮就先够行好谢麻也还再都和跟吗")


# ---------------------------------------------------------------------------------------------
# Product mentions


@dataclass(frozen=True, slots=True)
class _Mention:
    group_ids: tuple[int, ...]
    start: int
    end: int


def _cjk(s: str) -> bool:
    return bool(s) and all("\u4e00" <= c <= "\u9fff" for c in s)


@lru_cache(maxsize=512)
def _terms(group: GroupRef) -> tuple[str, ...]:
    """Strings that name the 团: product, aliases, the product without digits/brackets/团, and its
    head noun by jieba (丹东99草莓 -> 草莓). Single characters are too risky (姜姐 is a person)."""
    names = {clean(n, emoji_words=False) for n in (group.product, *group.aliases)}
    derived = set()
    for n in names:
        bare = re.sub(r"[\d\s【】\[\]()]+|团$", "", n)
        derived.add(bare)
        derived.update(_head_nouns(bare))
    return tuple(sorted({t for t in names | derived if len(t) >= 2}, key=len, reverse=True))


@lru_cache(maxsize=1024)
def _head_nouns(name: str) -> tuple[str, ...]:
    import logging
    import jieba  # loaded lazily: its dictionary costs about a second once

    jieba.setLogLevel(logging.WARNING)
    words = [w for w in jieba.lcut(name) if _cjk(w) and len(w) >= 2 and w not in _GENERIC_TERMS]
    return tuple(words[-1:]) if len(words) > 1 else ()


@lru_cache(maxsize=4096)
def _pinyin(s: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(s))


def _find_mentions(text: str, groups: Sequence[GroupRef]) -> list[_Mention]:
    """Non-overlapping product mentions, longest term first; a term several 团 share (苹果 for
    two apple 团) yields one mention carrying all their ids. Falls back to homophones (草梅) and
    one wrong character in names of 3+ characters (特仑书) when nothing matches exactly."""
    by_term: dict[str, list[int]] = {}
    for g in groups:
        for t in _terms(g):
            by_term.setdefault(t, [])
            if g.id not in by_term[t]:
                by_term[t].append(g.id)
    terms = sorted(by_term, key=len, reverse=True)
    taken = [False] * len(text)
    found: list[_Mention] = []
    for t in terms:
        start = text.find(t)
        while start >= 0:
            end = start + len(t)
            if not any(taken[start:end]):
                found.append(_Mention(tuple(by_term[t]), start, end))
                for i in range(start, end):
                    taken[i] = True
            start = text.find(t, start + 1)
    if not found:
        found = _fuzzy_mentions(text, terms, by_term)
    return sorted(found, key=lambda m: m.start)


def _fuzzy_mentions(text: str, terms: list[str], by_term: dict[str, list[int]]) -> list[_Mention]:
    found: list[_Mention] = []
    taken = [False] * len(text)
    sounds = [_pinyin(c)[0] if _cjk(c) else None for c in text]
    for t in terms:
        if not _cjk(t):
            continue
        n = len(t)
        tp = list(_pinyin(t))
        for start in range(0, len(text) - n + 1):
            window = text[start:start + n]
            if any(taken[start:start + n]) or not _cjk(window) or window == t:
                continue
            same = sum(a == b for a, b in zip(window, t))
            if same == 0:
                continue
            if sounds[start:start + n] == tp or (n >= 3 and same == n - 1):
                found.append(_Mention(tuple(by_term[t]), start, start + n))
                for i in range(start, start + n):
                    taken[i] = True
    return found


# ---------------------------------------------------------------------------------------------
# Helpers on the masked working string


def _blank(s: str, start: int, end: int) -> str:
    return s[:start] + MASK * (end - start) + s[end:]


def _skip(s: str, pos: int, chars: str = " ") -> int:
    while pos < len(s) and s[pos] in chars:
        pos += 1
    return pos


def _qty_after(work: str, pos: int) -> Quantity | None:
    return read_at(work, _skip(work, pos, " :=x×*"), anchored=True)


def _qty_before(work: str, pos: int, qs: list[Quantity]) -> Quantity | None:
    while pos > 0 and work[pos - 1] == " ":
        pos -= 1
    return next((q for q in qs if q.end == pos), None)


def _units(q: Quantity, unit: str) -> tuple[int | None, str | None]:
    """(whole quantity in `unit`, None) or (None, reason)."""
    v = convert(q.value, q.unit, unit)
    if v is None:
        return None, "unit_mismatch"
    if v.denominator != 1:
        return None, "fraction"
    return int(v), None


def _visible(work: str, text: str) -> str:
    """`work` with recognised parts dropped and protected names restored from `text`."""
    return "".join(t if w == _HIDDEN else (" " if w == MASK else w) for w, t in zip(work, text))


def _leftover(work: str) -> list[str]:
    """Tokens left once every recognised part is blanked and fillers (谢谢, 麻烦了) dropped.
    A protected name left over (三只松鼠) is content, so it is digit-filled and never a name."""
    rest = _FILLER.sub(" ", work.replace(MASK, " ").replace(_HIDDEN, "0"))
    return [t for t in re.split(rf"[{re.escape(_PUNCT)}\s]+", rest) if t]


def _name(work: str) -> str | None:
    """The leftover of a line if it is a single short token that looks like a display name."""
    tokens = _leftover(work)
    if len(tokens) != 1:
        return None
    tok = tokens[0]
    if len(tok) > 6 or any(c.isdigit() for c in tok) or set(tok) & _NAME_STOP or _NOT_NAME.search(tok):
        return None
    return tok


# ---------------------------------------------------------------------------------------------
# Entry point


def parse_shopper(text: str, open_groups: Sequence[GroupRef], *,
                  other_products: Iterable[str] | OtherNames = ()) -> Intent:
    """Classify one shopper message against the open 团 of this chat.

    `open_groups` are the 团 currently accepting entries. `other_products` (optional) are catalog
    names that are not open: a line naming only those is NotGroupBuy("other_product") instead of
    being read as a join of the open 团. Pass an `OtherNames` (handlers.groupbuy.context builds one
    per catalog and set of open 团) to keep the cost of a line independent of the catalog's size.

    Returns one of Join, Multi, SetQty, AddQty, Cancel, ListPaste, QueryMine, QueryCutoff,
    QueryPickup, AskWhich, AskUnit, NotGroupBuy; each has a `kind` string (join, multi, set, add,
    cancel, list_paste, query_mine, query_cutoff, query_pickup, ask_which, ask_unit, none).
    Never raises on user text.
    """
    groups = tuple(open_groups)
    if not groups:
        return NotGroupBuy("no_open_group")
    cleaned = clean(text)
    if not cleaned:
        return NotGroupBuy("empty")
    paste = _parse_paste(cleaned, groups)
    if paste is not None:
        return paste
    others = other_products if isinstance(other_products, OtherNames) else (
        OtherNames.of(other_products) if other_products else _NO_OTHERS)
    return _parse_line(cleaned.replace("\n", " "), groups, others)


# ---------------------------------------------------------------------------------------------
# Pasted lists

_NUMBERED = re.compile(r"^(?P<no>\d{1,3})\s*[.、,:)](?!\d)\s*(?P<body>.*)$")


def _parse_paste(cleaned: str, groups: tuple[GroupRef, ...]) -> ListPaste | NotGroupBuy | None:
    lines = cleaned.split("\n")
    native = lines[0].startswith("#接龙")
    numbered = [(i, m) for i, ln in enumerate(lines) if (m := _NUMBERED.match(ln))]
    if not numbered:
        return NotGroupBuy("empty_list") if native else None
    header = tuple(lines[:numbered[0][0]])
    named = [gid for m in _find_mentions(" ".join(header), groups) for gid in m.group_ids]
    group_ids = tuple(dict.fromkeys(named)) or tuple(g.id for g in groups)
    default = group_ids[0] if len(group_ids) == 1 else None
    parsed = tuple(_parse_list_line(int(m["no"]), m["body"], groups, default) for _, m in numbered)
    # A lone numbered line is a list only if it carries a quantity (not "1. 草莓多少钱").
    if not native and len(parsed) == 1 and parsed[0].unit is None and parsed[0].problem == "no_qty":
        return None
    return ListPaste(group_ids, parsed, header, native)


def _parse_list_line(no: int, body: str, groups: tuple[GroupRef, ...], default: int | None) -> ListLine:
    by_id = {g.id: g for g in groups}
    mentions = _find_mentions(body, groups)
    work = body
    for m in mentions:
        work = _blank(work, m.start, m.end)
    work = mask(work, PROTECTED_NAMES, _HIDDEN)
    tag = None
    if t := _TAG.search(work):
        tag = re.sub(r"\s+", "", body[t.start():t.end()])
        work = _blank(work, t.start(), t.end())
    qs = [q for q in find_quantities(work) if q.value <= _MAX_QTY]
    ids = {gid for m in mentions for gid in m.group_ids}
    problem = None
    if len(mentions) > 1 and len(ids) > 1:
        gid, problem = None, "multi_item"
    elif len(ids) == 1:
        gid = next(iter(ids))
    elif len(ids) > 1:
        gid, problem = None, "ambiguous_group"
    else:
        gid = default
        if gid is None:
            problem = "ambiguous_group"
    q = next((q for q in reversed(qs) if q.unit), qs[-1] if qs else None)
    qty = None
    if q is None:
        problem = problem or "no_qty"
    else:
        work = _blank(work, q.start, q.end)
        if gid is not None:
            qty, problem = _units(q, by_id[gid].unit)
        elif problem != "multi_item":
            qty = q.whole  # no 团 to convert to: as written
    name = " ".join(t for t in re.split(rf"[{re.escape(_PUNCT)}\s]+", _visible(work, body)) if t) or None
    return ListLine(no, name, tag, qty, q.unit if q else None, gid, problem, body)


# ---------------------------------------------------------------------------------------------
# Single messages


@dataclass(slots=True)
class _Line:
    """The working state for one message: `work` is the text with recognised parts masked."""

    text: str
    work: str
    groups: tuple[GroupRef, ...]
    mentions: list[_Mention]
    tag: str | None = None
    who: str | None = None

    def use(self, start: int, end: int) -> None:
        self.work = _blank(self.work, start, end)

    @property
    def named_ids(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(gid for m in self.mentions for gid in m.group_ids))

    @property
    def candidates(self) -> tuple[int, ...]:
        return self.named_ids or tuple(g.id for g in self.groups)


def _parse_line(text: str, groups: tuple[GroupRef, ...], other: OtherNames) -> Intent:
    mentions = _find_mentions(text, groups)
    work = text
    for m in mentions:
        work = _blank(work, m.start, m.end)
    other_hit, work = other.read(work, _HIDDEN)  # other products named; they and 三只松鼠 hidden
    if other_hit and not mentions:
        return NotGroupBuy("other_product")
    ln = _Line(text, work, groups, mentions)

    if _SAME.match(text):
        return NotGroupBuy("same_as_previous")
    if _Q_MINE.search(ln.work):
        return QueryMine(ln.candidates)
    if _Q_PICKUP.search(ln.work):
        return QueryPickup(ln.candidates)
    if _Q_CUTOFF.search(ln.work):
        return QueryCutoff(ln.candidates)
    if _INFO_Q.search(ln.work) or _CANCEL_QUESTION.search(ln.work):
        return NotGroupBuy("question")

    if t := _TAG.search(ln.work):
        ln.tag = re.sub(r"\s+", "", text[t.start():t.end()])
        ln.use(t.start(), t.end())
    _take_proxy(ln)

    intent = _change(ln) or _join(ln)
    if intent is None:
        return NotGroupBuy("question" if _GENERIC_Q.search(ln.work) else "no_signal")
    return intent


def _take_proxy(ln: _Line) -> None:
    """Find who the line is for (帮我妈也报一份, 帮报 3 小明, 我妈也要, 我妈那份) and blank that
    phrase, keeping the verb so the quantity after it is still read."""
    if m := _PROXY_LINE.search(ln.work):
        ln.who = m["who"]
        ln.use(m.start("who"), m.end("who"))
        ln.use(m.start(), m.start() + 1)  # drop 帮, keep 报 in front of the number
        return
    for rx in (_PROXY_HELP, _PROXY_KIN, _PROXY_OWNED, _PROXY_FOR):
        if m := rx.search(ln.work):
            who = m["who"]
            ln.who = None if who in _SELF else who
            ln.use(m.start(), m.end())
            return


def _change(ln: _Line) -> Intent | None:
    """Cancel, absolute set and relative add, checked before joins because they reuse join verbs."""
    w = ln.work
    cancel = _CANCEL.search(w)
    if cancel and (m := _ORDINAL.search(w)):
        n = parse_number(m["a"] or m["b"] or m["c"])
        if n is not None and n.denominator == 1 and n > 0:
            return Cancel(ln.candidates, ln.who, int(n))

    qs = find_quantities(w)
    for m in _SET.finditer(w):
        to = _qty_after(w, m.end())
        if to is None:
            continue
        if _counts_other_noun(w, to.end):
            return NotGroupBuy("other_product")
        return _set(ln, to, _qty_before(w, m.start(), qs))
    if m := _ONLY.search(w):
        if to := _qty_after(w, m.end()):
            return NotGroupBuy("other_product") if _counts_other_noun(w, to.end) else _set(ln, to, None)

    for rx, sign in ((_ADD, 1), (_SUB, -1), (_MINUS, -1)):
        for m in rx.finditer(w):
            q = _qty_after(w, m.end())
            if q is not None:
                return NotGroupBuy("other_product") if _counts_other_noun(w, q.end) else _add(ln, q, sign)

    if cancel:
        return Cancel(ln.candidates, ln.who)
    return None


def _set(ln: _Line, to: Quantity, before: Quantity | None) -> Intent:
    if to.unit is None and to.text not in COLLOQUIAL:
        if before is None or before.unit is None:
            # 改成3: 3 of what is not said (盒? 斤?); guessing would change the order, so ask.
            return AskUnit(ln.candidates, "set", to.text.strip(), _unit_of(ln, ln.candidates[0]), "no_unit")
        to = Quantity(to.value, before.unit, to.start, to.end, to.text)  # 2盒改1 = 1盒
    ids, qty, problem = _convert_for(ln, to)
    if qty is None:
        return AskUnit(ln.candidates, "set", to.text.strip(), _unit_of(ln, ln.candidates[0]), problem)
    if qty == 0:
        return Cancel(ids, ln.who)
    old = None
    if before is not None:
        _, old, _ = _convert_for(ln, before)
    return SetQty(ids, qty, old, ln.who)


def _add(ln: _Line, q: Quantity, sign: int) -> Intent:
    ids, qty, problem = _convert_for(ln, q)
    if qty is None:
        return AskUnit(ln.candidates, "add", q.text.strip(), _unit_of(ln, ln.candidates[0]), problem)
    if qty == 0:
        return NotGroupBuy("no_signal")
    return AddQty(ids, sign * qty, ln.who)


def _counts_other_noun(work: str, end: int) -> bool:
    """True when the quantity ending at `end` is glued to a word that is not an open product:
    我要一个袋子, 给我留3盒蓝莓, 买2送1. Particles and fillers (来两盒吧, 要2盒谢谢) are fine."""
    if end >= len(work):
        return False
    c = work[end]
    return c == _HIDDEN or ("\u4e00" <= c <= "\u9fff" and c not in _AFTER_QTY_OK)


def _unit_of(ln: _Line, gid: int) -> str:
    return next(g.unit for g in ln.groups if g.id == gid)


def _convert_for(ln: _Line, q: Quantity) -> tuple[tuple[int, ...], int | None, str | None]:
    """Convert `q` for every candidate 团; keep the candidates where it reads as the same whole
    number (a written unit can rule out a 团 counted differently)."""
    results = [(gid, *_units(q, _unit_of(ln, gid))) for gid in ln.candidates]
    ok = [(gid, qty) for gid, qty, _ in results if qty is not None]
    if not ok:
        return ln.candidates, None, results[0][2]
    first = ok[0][1]
    if first > _MAX_QTY:
        return ln.candidates, None, "too_many"
    return tuple(gid for gid, qty in ok if qty == first), first, None


def _join(ln: _Line) -> Intent | None:
    """Joins. Strong signals (+N, a join verb directly followed by a quantity) stand on their own;
    weak ones (a 接龙 keyword, product + quantity pairs, 我要 + product, a bare 两盒) count only
    when nothing but a name is left over, so 孩子报名了游泳班 or 今天拿了2盒草莓很新鲜 stay chatter."""
    w = ln.work
    qs = find_quantities(w)
    strong = False
    qty: Quantity | None = None

    for m in _PLUS.finditer(w):
        if q := _qty_after(w, m.end()):
            qty, strong = qty or q, True
            ln.use(m.start(), m.end())
    verb_product = False
    for m in _JOIN_VERB.finditer(w):
        after = _skip(w, m.end())
        q = read_at(w, after, anchored=True)
        if q is None and (b := _BARE_CL.match(w, after)):
            q = Quantity(Fraction(1), b["cl"], after, b.end(), b.group())
        if q is not None:
            if _counts_other_noun(w, q.end):
                return NotGroupBuy("other_product")
            qty, strong = qty or q, True
            ln.use(m.start(), m.end())
        elif after < len(w) and w[after] == MASK and ln.mentions:
            verb_product = True
            ln.use(m.start(), m.end())
    keyword = False
    for m in _JOIN_WORD.finditer(ln.work):
        keyword = True
        ln.use(m.start(), m.end())

    pairs = _pairs(ln, w)
    if (each := _EACH.search(w)) and len(ln.named_ids) >= 2:
        if q := _qty_after(w, each.end()):  # 草莓 脐橙 各一份
            pairs = [(gid, q) for gid in ln.named_ids]
            ln.use(each.start(), each.end())
    if _GENERIC_Q.search(ln.work) and not strong:
        return None
    only_qty = bool(qs) and (qs[0].unit is not None or qs[0].text in COLLOQUIAL)
    if not (strong or keyword or pairs or verb_product or only_qty):
        return None
    if qty is None and not pairs:
        # Fall back to any quantity with a classifier; a bare number only next to a 接龙 keyword.
        qty = next((q for q in qs if q.unit or q.text in COLLOQUIAL), None)
        if qty is None and keyword:
            qty = next((q for q in qs if q.value <= 99), None)
        if qty is not None and _counts_other_noun(w, qty.end):  # 一个问题
            return None
    for q in ([qty] if qty else []) + [q for _, q in pairs]:
        ln.use(q.start, q.end)
    if ln.tag is None:
        # A leftover bare 3-5 digit number next to the quantity is a room number (+2 502).
        if room := next((q for q in qs if q.unit is None and _ROOM.fullmatch(q.text)
                         and ln.work[q.start] != MASK), None):
            ln.tag = room.text
    for q in qs:
        ln.use(q.start, q.end)
    leftover = _leftover(ln.work)
    name = _name(ln.work)
    if not strong and leftover and name is None:
        return None

    if len({gid for gid, _ in pairs}) >= 2:
        return _multi(ln, pairs, name)
    if pairs and qty is None:
        qty = pairs[0][1]
    ids = ln.named_ids
    if len(ids) == 1:
        return _one(ln, ids[0], qty, name)
    if not ids and len(ln.groups) == 1:
        return _one(ln, ln.groups[0].id, qty, name)
    n, unit = (qty.whole or 1, qty.unit) if qty is not None else (1, None)
    return AskWhich(ids or tuple(g.id for g in ln.groups), n, unit, ln.tag, ln.who, name)


def _pairs(ln: _Line, w: str) -> list[tuple[int, Quantity]]:
    """(group, quantity) for products written with their own quantity: 草莓2 / 草莓+1 / 两盒草莓.

    Quantities either all follow their product or all precede it; the reading that pairs more
    products wins, ties going to "after" (草莓2 脐橙1 vs 两盒草莓 一箱脐橙).
    """
    qs = find_quantities(w)
    after: list[tuple[int, Quantity]] = []
    before: list[tuple[int, Quantity]] = []
    for m in ln.mentions:
        if len(m.group_ids) != 1:
            continue
        pos = _skip(w, m.end, " :=x×*+")
        if w.startswith(("要", "来"), pos):
            pos += 1
        if q := read_at(w, pos, anchored=True):
            after.append((m.group_ids[0], q))
        if q := _qty_before(w, m.start, qs):
            before.append((m.group_ids[0], q))
    return after if len(after) >= len(before) else before


def _one(ln: _Line, gid: int, qty: Quantity | None, name: str | None) -> Intent:
    if qty is None:
        return Join(gid, 1, ln.tag, ln.who, name)
    unit = _unit_of(ln, gid)
    n, problem = _units(qty, unit)
    if n is None or n > _MAX_QTY:
        return AskUnit((gid,), "join", qty.text.strip(), unit, problem or "too_many")
    if n == 0:
        return NotGroupBuy("no_signal")
    return Join(gid, n, ln.tag, ln.who, name)


def _multi(ln: _Line, pairs: list[tuple[int, Quantity]], name: str | None) -> Intent:
    items: list[Item] = []
    for gid, q in pairs:
        unit = _unit_of(ln, gid)
        n, problem = _units(q, unit)
        if n is None:
            return AskUnit((gid,), "multi", q.text.strip(), unit, problem)
        if n > 0:
            items.append(Item(gid, n))
    if len(items) == 1:
        return Join(items[0].group_id, items[0].qty, ln.tag, ln.who, name)
    return Multi(tuple(items), ln.tag, ln.who, name)


__all__ = ["GroupRef", "Item", "Join", "Multi", "SetQty", "AddQty", "Cancel", "ListLine", "ListPaste",
           "QueryMine", "QueryCutoff", "QueryPickup", "AskWhich", "AskUnit", "NotGroupBuy", "Intent",
           "parse_shopper"]
