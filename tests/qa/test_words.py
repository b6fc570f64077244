"""Regional phrasing, the grocery lexicon, size/pack picks, FAQ topics and the chatter gate, on small
catalogs written here (no aliases beyond what a store would type), so they test the shipped word
data against a catalog it was not written for."""
from __future__ import annotations

import pytest

from handlers.qa import words
from handlers.qa.catalog import FaqEntry, Product
from handlers.qa.engine import QAIndex
from handlers.qa.grocery import core_name
from handlers.qa.normalize import normalize
from handlers.qa.rank import PackReader, pack_of, pick


def P(sku, name, category="", spec="", unit="", aliases=()):
    return Product(sku, name, tuple(aliases), category, spec, unit, 990, 10)


STORE = [
    P("v1", "板栗红薯", "蔬菜", "500g", "斤"), P("v2", "普罗旺斯番茄", "蔬菜", "500g", "斤"),
    P("v3", "卷心菜", "蔬菜", "约1kg/个", "个"), P("v4", "贝贝南瓜", "蔬菜", "约400g/个", "个"),
    P("f1", "台农芒果", "水果", "500g", "斤"), P("f2", "贵妃芒", "水果", "500g", "斤"),
    P("f3", "库尔勒香梨", "水果", "500g", "斤"), P("f4", "莱阳雪梨", "水果", "500g", "斤"),
    P("d1", "雪碧500ml", "饮料", "500ml/瓶", "瓶"), P("d2", "雪碧2L", "饮料", "2L/瓶", "瓶"),
    P("d3", "王老吉310ml", "饮料", "310ml/罐", "罐", ("王老吉",)), P("d4", "王老吉整箱24罐", "饮料", "310ml*24罐/箱", "箱"),
    P("d5", "康师傅冰红茶", "饮料", "500ml/瓶", "瓶"),
    P("n1", "康师傅红烧牛肉面五连包", "速食", "5袋/包", "包"), P("n2", "康师傅红烧牛肉面整箱", "速食", "24袋/箱", "箱"),
    P("o1", "金龙鱼花生油5L", "粮油", "5L/桶", "桶"), P("o2", "金龙鱼调和油5L", "粮油", "5L/桶", "桶"),
    P("o3", "金龙鱼花生油1.8L", "粮油", "1.8L/瓶", "瓶"),
    P("h1", "清风抽纸", "纸品", "100抽*6包", "提"), P("h2", "维达抽纸", "纸品", "120抽*6包", "提"),
    P("h3", "黑人牙膏", "个护", "140g/支", "支"), P("h4", "高露洁牙膏", "个护", "140g/支", "支"),
    P("b1", "南孚5号电池", "日用", "4粒/卡", "卡"),
]
FAQ = [
    FaqEntry("opening", ("营业时间",), "每日 7:00-23:00 营业。"),
    FaqEntry("homedelivery", ("上门",), "两公里内满 29 元免费送。"),
    FaqEntry("fish", ("劏鱼",), "活鱼可免费代劏、去鳞。"),
    FaqEntry("b", ("环保袋",), "购物袋 0.3 元一个。"),
]


@pytest.fixture(scope="module")
def store():
    return QAIndex.build(STORE, FAQ)


def got(index, q):
    m = index.match(q)
    if m.intent == "product":
        return m.intent, m.sku
    if m.intent == "clarify":
        return m.intent, set(m.candidate_skus)
    return m.intent, m.term or (m.faq.id if m.faq else None)


# --- regional phrasing ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw, plain", [
    ("红薯仲有冇", "红薯还有没有"),
    ("菜心几多钱一斤", "菜心多少钱一斤"),
    ("你哋啲红颜草莓甜唔甜", "你们红颜草莓甜不甜"),
    ("海天生抽喺边度", "海天生抽在哪里"),
    ("腊肠可以放几耐", "腊肠可以放多久"),
    ("柠檬係唔係广东嘅", "柠檬是不是广东的"),
    ("零食有咩", "零食有什么"),      # 食 in 零食 stays
    ("饮料同话梅", "饮料同话梅"),    # 饮 in 饮料 and 话 in 话梅 stay
    ("五花肉今儿多钱", "五花肉今天多少钱"),
])
def test_regional_phrasing_reads_as_mandarin(raw, plain):
    assert normalize(raw) == plain


def test_a_product_word_between_regional_particles_is_found(store):
    assert got(store, "红薯仲有冇") == ("product", "v1")
    assert got(store, "我想攞啲番茄，几多钱") == ("product", "v2")


# --- the grocery lexicon ---------------------------------------------------------------------------

@pytest.mark.parametrize("q, sku", [
    ("地瓜多少钱一斤", "v1"), ("番薯有冇", "v1"), ("西红柿新鲜吗", "v2"), ("圆白菜多少钱", "v3"),
    ("包菜几钱", "v3"), ("番瓜有吗", "v4"), ("五号电池多少钱", "b1"),
])
def test_everyday_and_regional_names_find_the_stores_product(store, q, sku):
    assert got(store, q) == ("product", sku)


def test_a_kind_lists_members_whose_names_do_not_end_in_it(store):
    assert got(store, "芒果有冇") == ("clarify", {"f1", "f2"})       # 贵妃芒 does not end in 芒果
    assert got(store, "面巾纸多少钱") == ("clarify", {"h1", "h2"})
    assert got(store, "梨多少钱") == ("clarify", {"f3", "f4"})


def test_a_character_alone_means_its_usual_kind():
    index = QAIndex.build([P("s1", "海天酱油", "调料"), P("s2", "李锦记蚝油", "调料"),
                           P("o1", "鲁花花生油", "粮油"), P("o2", "福临门大豆油", "粮油")])
    assert got(index, "油多少钱") == ("clarify", {"o1", "o2"})     # not soy sauce and oyster sauce


def test_a_misspelling_from_the_lexicon_is_confirmed_like_a_typo():
    index = QAIndex.build([P("s1", "丹东草莓", "水果", "500g/盒", "盒", ("草莓",))])
    m = index.match("草梅多少钱")
    assert (m.intent, m.sku, m.stage) == ("product", "s1", "typo")


def test_the_stores_own_alias_wins_over_the_lexicon():
    # This store calls its sweet potato 地瓜 and sells 地瓜干 too: the lexicon changes nothing.
    index = QAIndex.build([P("a", "红薯", "蔬菜", aliases=("番薯",)), P("b", "地瓜干", "零食")])
    assert got(index, "地瓜干有吗") == ("product", "b")
    assert got(index, "番薯有吗") == ("product", "a")


def test_an_operators_synonyms_file_extends_the_lexicon(tmp_path):
    path = tmp_path / "synonyms.tsv"
    path.write_text("# our words\n菜心\t阿婆菜|婆婆菜\n", encoding="utf-8")
    before = QAIndex.build([P("c", "增城迟菜心", "蔬菜")])
    assert got(before, "阿婆菜有吗")[0] != "product"
    words.extend(synonyms=[path])
    after = QAIndex.build([P("c", "增城迟菜心", "蔬菜")])
    assert got(after, "阿婆菜有吗") == ("product", "c")


# --- size and pack -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, core", [
    ("可口可乐330ml罐装", "可口可乐"), ("王老吉整箱24罐", "王老吉"), ("康师傅红烧牛肉面五连包", "康师傅红烧牛肉面"),
    ("农夫山泉5l桶装", "农夫山泉"), ("鲜鸡蛋30枚装", "鲜鸡蛋"), ("南孚5号电池", "南孚5号电池"), ("5l", ""),
])
def test_a_name_without_its_size_and_pack(name, core):
    assert core_name(name) == core


@pytest.mark.parametrize("q, expected", [
    ("大瓶雪碧", ("product", "d2")), ("小瓶雪碧几钱", ("product", "d1")), ("2升的雪碧", ("product", "d2")),
    ("雪碧多少钱", ("clarify", {"d1", "d2"})),                      # no size said: ask
    ("整箱王老吉几钱", ("product", "d4")), ("王老吉一罐几钱", ("product", "d3")),
    ("康师傅红烧牛肉面一箱几钱", ("product", "n2")), ("整箱的康师傅", ("product", "n2")),
    ("金龙鱼花生油小瓶嘅", ("product", "o3")), ("金龙鱼花生油大桶", ("product", "o1")),
    ("金龙鱼5L那个几钱", ("clarify", {"o1", "o2"})),                  # two 5L oils: ask which
])
def test_size_and_pack_words_pick_the_row(store, q, expected):
    assert got(store, q) == expected


def test_a_size_nobody_sells_is_ignored_rather_than_answered_as_nothing():
    packs = [pack_of("雪碧500ml", "500ml/瓶", "瓶"), pack_of("雪碧2l", "2l/瓶", "瓶")]
    ask = PackReader(words.WORDS.packs).read("3升的雪碧")
    assert pick([0, 1], packs, ask) == [0, 1]
    assert not PackReader(words.WORDS.packs).read("多少钱一斤")  # a price by weight picks nothing


# --- shared brands and generic pinyin ------------------------------------------------------------

def test_a_shared_brand_and_generic_pinyin_ask_back(store):
    assert got(store, "康师傅几钱") == ("clarify", {"n1", "n2", "d5"})
    assert got(store, "金龙鱼多少钱") == ("clarify", {"o1", "o2", "o3"})
    assert got(store, "yagao多少钱") == ("clarify", {"h3", "h4"})


# --- FAQ on meaning --------------------------------------------------------------------------------

@pytest.mark.parametrize("q, fid", [
    ("几点关门", "opening"), ("你哋几点收铺", "opening"), ("能送货吗", "homedelivery"), ("有冇外卖", "homedelivery"),
    ("鱼可以帮手劏吗", "fish"), ("可以帮忙杀鱼吗", "fish"), ("胶袋要唔要钱", "b"),
])
def test_the_stores_own_faq_wording_answers_shoppers_phrasings(store, q, fid):
    assert got(store, q) == ("faq", fid)


def test_a_topic_the_shipped_faq_does_not_have_still_matches_the_stores_entry():
    index = QAIndex.build([P("v", "番茄", "蔬菜")], [FaqEntry("tel", ("热线",), "订货热线 0757-12345678。"),
                                                   FaqEntry("pre", ("留货",), "提前一天在群里说，帮您留货。")])
    assert got(index, "你们电话多少") == ("faq", "tel")
    assert got(index, "可以提前订吗") == ("faq", "pre")


def test_an_entry_is_tagged_by_its_answer_when_no_keyword_says_it():
    index = QAIndex.build([], [FaqEntry("x1", ("服务",), "我们提供免费配送，三公里内一小时送达。")])
    assert got(index, "能送到家吗") == ("faq", "x1")


# --- chatter and the wish list -----------------------------------------------------------------------

@pytest.mark.parametrize("q", [
    "我减肥不吃米饭", "我闺女只喝酸奶", "上周买的华为手机卡了", "我婆婆最爱吃腊肉", "我阿妈每朝都饮豆浆",
    "我个女只饮维他奶", "上礼拜买的华为手机坏了", "我老公戒烟了", "我妈说你们家的番茄好",
    "我老婆话要买啲芒果", "医生叫我少食盐", "我屋企个雪柜坏咗",
])
def test_stories_and_feelings_are_not_asks(store, q):
    assert store.match(q).intent == "none"


def test_a_reported_wish_with_a_real_question_is_still_an_ask(store):
    assert got(store, "我妈说要买番茄，有冇") == ("product", "v2")
    assert got(store, "番茄好唔好") == ("product", "v2")


@pytest.mark.parametrize("q, term", [("有没有燕窝", "燕窝"), ("你们卖不卖烟", "烟"), ("有冇烧卖", "烧卖")])
def test_asked_items_go_on_the_wish_list(store, q, term):
    assert got(store, q) == ("unknown_product", term)


@pytest.mark.parametrize("q", ["有没有iphone", "有没有zi", "有没有手机壳"])
def test_terms_that_are_not_goods_stay_off_the_wish_list(store, q):
    assert store.match(q).intent != "unknown_product"


# --- the operator's files from config --------------------------------------------------------------

def test_config_word_files_are_read_and_a_missing_one_stops_the_start(tmp_path):
    from bot.config import ConfigError
    from handlers.qa import _extend_words
    from handlers.qa.settings import settings
    from tests.conftest import make_config

    kinds = tmp_path / "kinds.tsv"
    kinds.write_text("凉茶\t斑痧凉茶|廿四味\n", encoding="utf-8")
    _extend_words(make_config("t:", "http://127.0.0.1:1", qa={"kinds": [str(kinds)]}),
                  settings(make_config("t:", "http://127.0.0.1:1", qa={"kinds": [str(kinds)]})))
    index = QAIndex.build([P("t1", "斑痧凉茶", "饮料"), P("t2", "廿四味", "饮料")])
    assert got(index, "凉茶有冇") == ("clarify", {"t1", "t2"})

    missing = make_config("t:", "http://127.0.0.1:1", qa={"synonyms": [str(tmp_path / "nope.tsv")]})
    with pytest.raises(ConfigError, match="nope.tsv"):
        _extend_words(missing, settings(missing))
