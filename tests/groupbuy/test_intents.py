"""Shopper lines -> intents: every phrasing shoppers use in store groups, plus the traps."""
import pytest

from handlers.groupbuy.intents import (AddQty, AskUnit, AskWhich, Cancel, GroupRef, Item, Join, ListLine,
                                       ListPaste, Multi, NotGroupBuy, QueryCutoff, QueryMine, QueryPickup,
                                       SetQty, parse_shopper)

BERRY = GroupRef(1, "丹东99草莓", ("草莓", "99草莓", "红颜草莓"), "盒")
ORANGE = GroupRef(2, "赣南脐橙", ("脐橙", "橙子"), "箱")
PORK = GroupRef(3, "土猪五花肉", ("五花肉", "五花"), "斤")
ONE = [BERRY]
TWO = [BERRY, ORANGE]


def parse(text, groups=ONE, **kw):
    return parse_shopper(text, groups, **kw)


@pytest.mark.parametrize("text, expected", [
    ("+1", Join(1, 1)),
    ("＋１", Join(1, 1)),
    ("+2", Join(1, 2)),
    ("+2 3栋502", Join(1, 2, pickup_tag="3栋502")),
    ("＋２ ３栋５０２", Join(1, 2, pickup_tag="3栋502")),
    ("3-502 +1", Join(1, 1, pickup_tag="3-502")),
    ("+1 5号楼1单元302", Join(1, 1, pickup_tag="5号楼1单元302")),
    ("+2 502", Join(1, 2, pickup_tag="502")),
    ("+1 尾号1234", Join(1, 1, pickup_tag="尾号1234")),
    ("接龙", Join(1, 1)),
    ("我接", Join(1, 1)),
    ("报名", Join(1, 1)),
    ("算我一个", Join(1, 1)),
    ("我也要", Join(1, 1)),
    ("我参加", Join(1, 1)),
    ("加一份", Join(1, 1)),
    ("我要两份", Join(1, 2)),
    ("来俩", Join(1, 2)),
    ("来仨", Join(1, 3)),
    ("给我留3盒", Join(1, 3)),
    ("能帮我留两盒吗", Join(1, 2)),
    ("两盒", Join(1, 2)),
    ("2盒 3栋502", Join(1, 2, pickup_tag="3栋502")),
    ("来份草莓", Join(1, 1)),
    ("草莓来一份", Join(1, 1)),
    ("给我来3份草莓", Join(1, 3)),
    ("草莓+1 明天能到吗", Join(1, 1)),
    ("接龙 草莓 两盒 张阿姨", Join(1, 2, name="张阿姨")),
    ("+1 王姐 3栋502", Join(1, 1, pickup_tag="3栋502", name="王姐")),
    ("我要2盒，3栋502，王姐", Join(1, 2, pickup_tag="3栋502", name="王姐")),
    ("+1 谢谢", Join(1, 1)),
])
def test_joins(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("帮我妈也报一份", Join(1, 1, on_behalf_of="我妈")),
    ("帮我妈也报一份，她不在群里", Join(1, 1, on_behalf_of="我妈")),
    ("帮邻居王姐报2盒", Join(1, 2, on_behalf_of="邻居王姐")),
    ("给我妈留两盒", Join(1, 2, on_behalf_of="我妈")),
    ("我妈也要一份", Join(1, 1, on_behalf_of="我妈")),
    ("幫報 3 小明", Join(1, 3, on_behalf_of="小明")),
    ("帮我留一份", Join(1, 1)),
    ("帮忙留一份", Join(1, 1)),
])
def test_proxy_joins(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("改成3份", SetQty((1,), 3)),
    ("改为两盒", SetQty((1,), 2)),
    ("2盒改1盒", SetQty((1,), 1, from_qty=2)),
    ("2盒改1", SetQty((1,), 1, from_qty=2)),
    ("刚才报的2盒改成1盒吧，吃不完", SetQty((1,), 1, from_qty=2)),
    ("只要一份", SetQty((1,), 1)),
    ("改成俩", SetQty((1,), 2)),
    ("我妈那份改成2份", SetQty((1,), 2, on_behalf_of="我妈")),
    ("改成0份", Cancel((1,))),
    ("再加一份", AddQty((1,), 1)),
    ("再来两盒", AddQty((1,), 2)),
    ("再要一个", AddQty((1,), 1)),
    ("-1", AddQty((1,), -1)),
    ("－１", AddQty((1,), -1)),
    ("-2 草莓", AddQty((1,), -2)),
    ("减一份", AddQty((1,), -1)),
    ("少要一盒", AddQty((1,), -1)),
    ("取消一份", AddQty((1,), -1)),
    ("取消", Cancel((1,))),
    ("不要了", Cancel((1,))),
    ("我不要了", Cancel((1,))),
    ("退出", Cancel((1,))),
    ("草莓不要了", Cancel((1,))),
    ("我不要了，帮我把第5个删掉", Cancel((1,), entry_no=5)),
    ("把5号删了", Cancel((1,), entry_no=5)),
    ("帮我妈那份取消", Cancel((1,), on_behalf_of="我妈")),
    ("王姐的不要了", Cancel((1,), on_behalf_of="王姐")),
])
def test_changes_and_cancels(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("草莓2 脐橙1", Multi((Item(1, 2), Item(2, 1)))),
    ("草莓两盒 脐橙一箱", Multi((Item(1, 2), Item(2, 1)))),
    ("两盒草莓 一箱脐橙", Multi((Item(1, 2), Item(2, 1)))),
    ("草莓+1 脐橙+2", Multi((Item(1, 1), Item(2, 2)))),
    ("草莓x2 橙子x1 3栋502", Multi((Item(1, 2), Item(2, 1)), pickup_tag="3栋502")),
    ("草莓 脐橙 各一份", Multi((Item(1, 1), Item(2, 1)))),
    ("草莓+1", Join(1, 1)),
    ("🍓+1", Join(1, 1)),
    ("+1🍓", Join(1, 1)),
    ("来一箱脐橙", Join(2, 1)),
    ("我要草莓", Join(1, 1)),
    ("接龙 草莓", Join(1, 1)),
    ("草梅+1", Join(1, 1)),  # homophone typo
    ("脐橙再加一箱", AddQty((2,), 1)),
    ("草莓改成2盒", SetQty((1,), 2)),
    ("草莓截单了吗", QueryCutoff((1,))),
])
def test_two_groups_product_chooses(text, expected):
    assert parse(text, TWO) == expected


@pytest.mark.parametrize("text, expected", [
    ("+1", AskWhich((1, 2), 1)),
    ("＋１", AskWhich((1, 2), 1)),
    ("接龙", AskWhich((1, 2), 1)),
    ("来俩", AskWhich((1, 2), 2)),
    ("我要两份", AskWhich((1, 2), 2, "份")),
    ("来两盒", AskWhich((1, 2), 2, "盒")),
    ("+2 3栋502", AskWhich((1, 2), 2, pickup_tag="3栋502")),
    ("帮我妈也报一份", AskWhich((1, 2), 1, "份", on_behalf_of="我妈")),
    ("@导购小王 +1", AskWhich((1, 2), 1)),
    ("草莓2 脐橙", AskWhich((1, 2), 2)),
])
def test_two_groups_without_product_ask_back(text, expected):
    assert parse(text, TWO) == expected


def test_after_ask_which_reparsing_with_the_chosen_group_gives_the_join():
    assert isinstance(parse("来两盒", TWO), AskWhich)
    assert parse("来两盒", [BERRY]) == Join(1, 2)
    assert parse("来两盒", [ORANGE]) == AskUnit((2,), "join", "两盒", "箱", "unit_mismatch")


def test_shared_alias_asks_between_the_groups_that_share_it():
    fuji = GroupRef(4, "烟台红富士苹果", ("红富士", "苹果"), "斤")
    aksu = GroupRef(5, "阿克苏冰糖心苹果", ("冰糖心", "苹果"), "箱")
    assert parse("苹果+1", [fuji, aksu, BERRY]) == AskWhich((4, 5), 1)
    assert parse("红富士+1", [fuji, aksu, BERRY]) == Join(4, 1)


@pytest.mark.parametrize("text", ["取消", "改成2份", "-1", "再加一份"])
def test_two_groups_changes_carry_all_candidates_for_the_ledger(text):
    assert parse(text, TWO).group_ids == (1, 2)


@pytest.mark.parametrize("text, groups, expected", [
    ("给我留2斤", ONE, AskUnit((1,), "join", "2斤", "盒", "unit_mismatch")),
    ("+2斤", ONE, AskUnit((1,), "join", "2斤", "盒", "unit_mismatch")),
    ("半盒", ONE, AskUnit((1,), "join", "半盒", "盒", "fraction")),
    ("改成3", ONE, AskUnit((1,), "set", "3", "盒", "no_unit")),
    ("再加2斤", ONE, AskUnit((1,), "add", "2斤", "盒", "unit_mismatch")),
    ("草莓2斤 脐橙1箱", TWO, AskUnit((1,), "multi", "2斤", "盒", "unit_mismatch")),
    ("给我留2斤", [PORK], Join(3, 2)),
    ("来1公斤", [PORK], Join(3, 2)),
    ("五花肉 两斤", [PORK], Join(3, 2)),
    ("我要五花肉", [PORK], Join(3, 1)),
    ("半斤", [PORK], AskUnit((3,), "join", "半斤", "斤", "fraction")),
    ("来两个", [PORK], AskUnit((3,), "join", "两个", "斤", "unit_mismatch")),
    ("来两个", ONE, Join(1, 2)),
])
def test_units(text, groups, expected):
    assert parse(text, groups) == expected


@pytest.mark.parametrize("text, expected", [
    ("我报了几份", QueryMine((1,))),
    ("我报了几盒来着", QueryMine((1,))),
    ("我接龙了吗", QueryMine((1,))),
    ("截单了吗", QueryCutoff((1,))),
    ("截单了吗？还能接吗", QueryCutoff((1,))),
    ("还能报吗", QueryCutoff((1,))),
    ("几点截单", QueryCutoff((1,))),
    ("成团了吗", QueryCutoff((1,))),
    ("在哪提货", QueryPickup((1,))),
    ("几点能提货，在哪拿", QueryPickup((1,))),
    ("什么时候可以拿", QueryPickup((1,))),
    ("自提点在哪", QueryPickup((1,))),
])
def test_queries(text, expected):
    assert parse(text) == expected


def test_queries_with_two_groups_cover_both_unless_named():
    assert parse("在哪提货", TWO) == QueryPickup((1, 2))
    assert parse("脐橙在哪提货", TWO) == QueryPickup((2,))


@pytest.mark.parametrize("text", [
    "五花肉多少钱一斤", "我要问一下几点关门", "草莓多少钱", "99草莓多少钱一盒", "草莓还有吗？明天能到不",
    "草莓甜吗", "有没有车厘子", "谢谢", "好的谢谢老板👍", "哈哈哈哈 笑死", "收到", "2", "草莓", "我要问",
    "我要投诉", "一个问题", "我家3栋的", "3栋502的王姐在吗", "明天来拿", "好的，我明天10点来拿",
    "下午3点来", "周六提货吗", "取消了吗", "要不要接龙", "改天再说", "你们几点关门？", "+0",
    "两斤五花 一斤排骨 明早能留吗", "昨天买的香蕉全是黑的，能退吗", "领券", "还有满50减10的券吗？",
    "能不能进点榴莲，想团一个", "下周还有草莓团吗，想多要几盒", "有没有三元的牛奶？蒙牛的喝腻了", "同上",
    "", "   ", "👍",
])
def test_not_group_buy(text):
    assert isinstance(parse(text), NotGroupBuy)


def test_not_group_buy_reasons():
    assert parse("+1", []) == NotGroupBuy("no_open_group")
    assert parse("草莓多少钱") == NotGroupBuy("question")
    assert parse("谢谢") == NotGroupBuy("no_signal")
    assert parse("同上") == NotGroupBuy("same_as_previous")
    assert parse("#接龙 周六草莓团") == NotGroupBuy("empty_list")


def test_other_catalog_products_are_not_read_as_the_open_group():
    assert parse("车厘子+1", other_products=["智利车厘子JJ级", "车厘子"]) == NotGroupBuy("other_product")
    assert parse("三只松鼠2袋") == NotGroupBuy("no_signal")
    assert parse("草莓+1", other_products=["车厘子"]) == Join(1, 1)


def test_quoted_reply_counts_only_the_reply():
    quoted = "「王姐：+5 3栋502」\n- - - - - - - - - - - - - - -\n"
    assert parse(quoted + "+1") == Join(1, 1)
    assert parse(quoted + "哈哈好的") == NotGroupBuy("no_signal")


def test_pasted_native_list():
    text = "#接龙\n周六丹东99草莓团 截单周五20:00\n\n1. 王姐 3栋502 2盒\n2. 小李 1盒\n3. 3-502 陈 2盒"
    assert parse(text, TWO) == ListPaste(
        group_ids=(1,),
        lines=(ListLine(1, "王姐", "3栋502", 2, "盒", 1, None, "王姐 3栋502 2盒"),
               ListLine(2, "小李", None, 1, "盒", 1, None, "小李 1盒"),
               ListLine(3, "陈", "3-502", 2, "盒", 1, None, "3-502 陈 2盒")),
        header=("#接龙", "周六丹东99草莓团 截单周五20:00"),
        native=True)


def test_pasted_list_line_forms_and_problems():
    text = "#接龙\n1. 王姐 2盒\n20、刘小西1斤\n21. 张阿姨 草莓 2份\n22. 老李\n23. 小王 ＋１\n24. 阿May 两盒"
    lines = parse(text, ONE).lines
    assert [(ln.no, ln.name, ln.qty, ln.unit, ln.problem) for ln in lines] == [
        (1, "王姐", 2, "盒", None),
        (20, "刘小西", None, "斤", "unit_mismatch"),
        (21, "张阿姨", 2, "份", None),
        (22, "老李", None, None, "no_qty"),
        (23, "小王", 1, None, None),
        (24, "阿may", 2, "盒", None),
    ]
    assert parse("#接龙\n20、刘小西1斤", [PORK]).lines[0].qty == 1


def test_pasted_list_with_two_groups_and_no_header_product():
    paste = parse("1. 王姐 2盒\n2. 小李 脐橙1箱", TWO)
    assert paste.group_ids == (1, 2) and not paste.native
    assert [(ln.group_id, ln.qty, ln.problem) for ln in paste.lines] == [(None, 2, "ambiguous_group"), (2, 1, None)]


def test_single_numbered_line_is_a_paste_only_with_a_quantity():
    assert isinstance(parse("5. 张阿姨 草莓 2份"), ListPaste)
    assert parse("1. 草莓多少钱") == NotGroupBuy("question")


def test_kind_strings():
    assert [parse(t, g).kind for t, g in [
        ("+1", ONE), ("草莓2 脐橙1", TWO), ("改成3份", ONE), ("-1", ONE), ("取消", ONE),
        ("#接龙\n1. 王姐 2盒", ONE), ("我报了几份", ONE), ("截单了吗", ONE), ("在哪提货", ONE),
        ("+1", TWO), ("2斤", ONE), ("谢谢", ONE)]] == [
        "join", "multi", "set", "add", "cancel", "list_paste", "query_mine", "query_cutoff",
        "query_pickup", "ask_which", "ask_unit", "none"]


def test_product_names_from_free_text_titles_match_by_head_noun():
    custom = GroupRef(9, "【周六】智利车厘子JJ级团", (), "箱")
    assert parse("车厘子+1", [custom, BERRY]) == Join(9, 1)


@pytest.mark.parametrize("text", [
    # Numbers and join verbs in ordinary chat must not become orders.
    "我要退货", "我要发票", "来了来了", "一会儿来拿", "下次再来", "3号来拿可以吗", "我2点到", "我家2个孩子",
    "买了2盒，很甜", "昨天报了2盒", "上次那个草莓很好吃", "我家3栋502，今天拿了2盒草莓，很新鲜",
    "孩子报名了游泳班", "明天参加家长会", "我跟你说", "大家好，我是3栋的王姐", "一斤二两", "拼单吗",
    "要3天", "明天来2个人", "接2个孩子",
])
def test_chatter_with_numbers_stays_none(text):
    assert isinstance(parse(text), NotGroupBuy)


@pytest.mark.parametrize("text", ["我要一个袋子", "给我留3盒蓝莓", "买2送1", "我要两份鸡蛋", "再来两盒蓝莓"])
def test_quantity_of_another_thing_is_not_this_group(text):
    assert parse(text) == NotGroupBuy("other_product")


@pytest.mark.parametrize("text, expected", [
    ("+1王姐", Join(1, 1, name="王姐")),
    ("留两份给我妈", Join(1, 2, on_behalf_of="我妈")),
    ("我要一份，明天下午来拿", Join(1, 1)),
    ("好的，给我留两盒吧，谢谢老板", Join(1, 2)),
    ("要2盒谢谢", Join(1, 2)),
    ("接龙 王姐", Join(1, 1, name="王姐")),
    ("接龙 5", Join(1, 5)),
    ("草莓真不错，再来两盒", AddQty((1,), 2)),
    ("5号不要了", Cancel((1,), entry_no=5)),
    ("删除第3条", Cancel((1,), entry_no=3)),
    ("取消，5号再说", Cancel((1,))),
])
def test_more_phrasings(text, expected):
    assert parse(text) == expected


def test_multi_with_name():
    assert parse("草莓2 脐橙1 王姐", TWO) == Multi((Item(1, 2), Item(2, 1)), name="王姐")


@pytest.mark.parametrize("text", [
    # Product and shop questions in the style of the shared Q&A sample: answered elsewhere, never orders.
    "@小助手 车厘子还有吗", "冰糖心苹果怎么卖", "有没有红富士", "西瓜甜不甜，多少钱一个", "脐橙一箱几斤",
    "蓝莓有活动吗", "香蕉今天到货没", "小白菜几块钱一斤", "五花肉多少一斤", "鸡蛋一盒多少个", "大闸蟹几只一盒",
    "蒙牛纯牛奶一箱多少", "五常大米多少钱一袋", "薯片第二件半价吗", "农夫山泉一箱多少钱", "茅台能买几瓶",
    "抽纸多少钱一提", "切片面包几号生产的", "caomei还有吗", "草梅多少钱", "今天有什么特价", "能送货上门吗",
    "买的苹果坏了怎么办", "你们卖不卖螺蛳粉", "想要山竹，能进点货吗", "今天天气真好",
])
def test_shop_questions_are_never_orders(text):
    assert parse(text, TWO).kind == "none"


@pytest.mark.parametrize("text, groups, expected", [
    ("+1000", ONE, AskUnit((1,), "join", "1000", "盒", "too_many")),
    ("改成5000盒", ONE, AskUnit((1,), "set", "5000盒", "盒", "too_many")),
])
def test_absurd_quantities_ask_back(text, groups, expected):
    assert parse(text, groups) == expected


NUTS = GroupRef(4, "三只松鼠坚果礼盒", ("三只松鼠",), "盒")


@pytest.mark.parametrize("text, groups, expected", [
    # Names with numerals survive when they ARE the 团, and their digits never become quantities.
    ("三只松鼠+1", [NUTS], Join(4, 1)),
    ("三只松鼠两盒", [NUTS], Join(4, 2)),
    ("我要两盒三只松鼠", [NUTS], Join(4, 2)),
    ("三只松鼠2 草莓1", [NUTS, BERRY], Multi((Item(4, 2), Item(1, 1)))),
    ("五花肉三斤", [PORK], Join(3, 3)),
    ("来两斤五花肉", [PORK], Join(3, 2)),
    ("五花肉2 草莓1", [PORK, BERRY], Multi((Item(3, 2), Item(1, 1)))),
    ("+1", [PORK, NUTS], AskWhich((3, 4), 1)),
])
def test_numeral_names_as_the_group(text, groups, expected):
    assert parse(text, groups) == expected


@pytest.mark.parametrize("text, expected", [
    # full-width digits, emoji and @mentions around every kind of line
    ("@小王\u2005+2 3栋502", Join(1, 2, pickup_tag="3栋502")),
    ("@小王 @店长 改成３盒", SetQty((1,), 3)),
    ("＋１ 🙏", Join(1, 1)),
    ("👍👍 我要两盒", Join(1, 2)),
    ("🍓🍓+2", Join(1, 2)),
    ("－１😂", AddQty((1,), -1)),
    ("@小王 不要了🙏", Cancel((1,))),
    ("@小王 我报了几份？", QueryMine((1,))),
])
def test_full_width_emoji_and_mentions(text, expected):
    assert parse(text) == expected
