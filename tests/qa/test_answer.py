import pytest

from bot.render import renderer
from handlers.qa.answer import reply_for
from handlers.qa.catalog import Product
from handlers.qa.engine import Match

render = renderer()


def answer(index, q):
    r = reply_for(index.match(q), index)
    return None if r is None else render(r)


def test_price_answer_has_yuan_unit_spec_stock_and_the_active_promo(index):
    text = answer(index, "草莓多少钱一盒")
    first = text.splitlines()[0]
    assert "丹东99草莓" in first and "39.9元/盒" in first and "500g/盒" in first and "有货" in first
    assert "第二盒半价" in text


def test_out_of_stock_says_so_first_and_what_happens_next(index):
    text = answer(index, "榴莲到了吗")
    first = text.splitlines()[0]
    assert "暂时缺货" in first and "到货时间可以问导购" in text and "168元/个" in text
    # It promises no arrival notice, and says "noted" only when the ask was recorded.
    assert "通知" not in text and "记下" not in text
    noted = render(reply_for(index.match("榴莲到了吗"), index, noted=True, human=True))
    assert "已帮您记下，会反馈给采购" in noted.splitlines()[0] and "回复「人工」" in noted


def test_the_asked_attribute_comes_first(index):
    assert answer(index, "羊肉卷是哪里产的").startswith("📍 内蒙古羔羊肉卷产地：内蒙古")
    assert "保质期180天" in answer(index, "特仑苏保质期多久").splitlines()[0]
    assert answer(index, "脐橙一箱几斤").splitlines()[0].startswith("📦 赣南脐橙规格：5kg/箱")
    assert "第二盒半价" in answer(index, "草莓有活动吗").splitlines()[0]
    assert "目前没有活动" in answer(index, "花生油有优惠吗").splitlines()[0]


def test_a_guess_from_a_typo_or_pinyin_is_confirmed(index):
    assert answer(index, "草梅多少钱").startswith("您问的是「丹东99草莓」吧？")
    assert not answer(index, "草莓多少钱").startswith("您问的是")


def test_clarify_is_a_numbered_short_list_that_says_how_to_reply(index):
    lines = answer(index, "油多少钱一桶").splitlines()
    assert lines[0] == "您问的是哪一款？"
    assert lines[1].startswith("1. ") and lines[2].startswith("2. ")
    assert any("鲁花5S压榨花生油 149.9元/桶" in line for line in lines)
    assert lines[-1] == "回复商品名，我马上告诉您～"  # no number: nothing remembers this list
    picking = render(reply_for(index.match("油多少钱一桶"), index, pick=True))
    assert "回复序号或商品名" in picking.splitlines()[-1]


def test_faq_promotions_and_not_carried(index):
    assert answer(index, "几点关门") == "门店营业时间：每天 8:00-22:00，节假日照常营业。"
    promo = answer(index, "今天有什么特价")
    assert "丹东99草莓：第二盒半价" in promo and "赣南脐橙：满99减10" in promo
    wish = answer(index, "有没有牛油果")
    assert "暂时没有牛油果" in wish and "记下" not in wish
    assert "已经帮您记下" in render(reply_for(index.match("有没有牛油果"), index, noted=True))


def test_chatter_gets_no_reply(index):
    assert reply_for(index.match("谢谢老板"), index) is None


def test_long_promotions_list_is_cut_with_a_count(index):
    many = tuple(Product(f"P{i}", f"商品{i}", (), "", "", "个", 100, 1, promo="特价") for i in range(11))
    text = render(reply_for(Match("promo_list", candidates=many), index))
    assert text.count("·") == 8 and "还有3款" in text


@pytest.mark.parametrize("stock, expected", [(120, "有货"), (3, "只剩3"), (0, "暂时缺货")])
def test_stock_wording(index, stock, expected):
    p = Product("T1", "测试商品", (), "", "1kg/袋", "袋", 990, stock)
    text = render(reply_for(Match("product", product=p, attribute="price", confidence=0.95, stage="alias"), index))
    assert expected in text
