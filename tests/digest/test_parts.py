"""Chat messages of a large digest: every part under the byte limit, sections kept whole where
they fit, nothing lost or repeated between parts, the header once."""
from __future__ import annotations

import random

import pytest

from bot.message import Reply
from bot.render import renderer
from handlers.digest.build import StoreFacts, build_digest
from handlers.digest.model import DayInputs, ProductInfo, Signal, Tuan
from handlers.digest.parts import TEMPLATE, message_parts

render = renderer()


def big_digest(n_skus: int = 120, n_stores: int = 30) -> dict:
    rng = random.Random(1)
    stores = {f"S{i:03d}": StoreFacts(f"S{i:03d}", f"第{i}号社区生活超市旗舰店", 3) for i in range(n_stores)}
    products = {f"K{i:04d}": ProductInfo(f"K{i:04d}", f"进口精选特级商品名称很长的第{i}号", "500g×12/箱", "箱")
                for i in range(n_skus)}
    tuans, signals = [], []
    for i, sku in enumerate(products):
        for s in rng.sample(list(stores), 4):
            qty = rng.randint(1, 40)
            tuans.append(Tuan(len(tuans) + 1, s, "导购小王", sku, products[sku].name, "箱", "closed",
                              rng.choice(["formed", "formed", "failed"]), 1.0, qty=qty, min_to_form=20,
                              entries=3, owners=(f"u{i}", f"v{i}")))
        signals.append(Signal("unmet", rng.choice(list(stores)), sku, (f"a{i}", f"b{i}"), ("这个什么时候有货呀" * 3,)))
        signals.append(Signal("wish", rng.choice(list(stores)), f"心愿商品{i}号", (f"c{i}",), ("能不能进点这个" * 4,)))
    inputs = DayInputs("2026-06-13", 0, 1, 1, True, tuans, [], signals, products, {})
    return build_digest(inputs, {}, stores=stores, cutoff="21:00")


@pytest.mark.parametrize("limit", [2048, 4096])
def test_every_part_fits_and_nothing_is_lost(limit):
    d = big_digest()
    ctxs = message_parts(d, limit=limit, top=10_000, attachment="采购需求日报-2026-06-13.xlsx")
    texts = [render(Reply(TEMPLATE, **c)) for c in ctxs]
    assert len(texts) > 5
    assert all(len(t.encode()) <= limit for t in texts)
    assert texts[0].startswith("## 采购需求日报") and all(t.startswith("**采购需求日报") for t in texts[1:])
    joined = "\n".join(texts)
    names = [r["name"] for r in d["skus"] if r["qty"] > 0]
    positions = [joined.index(f"{i}. {n}") for i, n in enumerate(names, 1)]
    assert positions == sorted(positions)  # in rank order, each once
    assert all(joined.count(f"- {r['term']}：") == 1 for r in d["wishes"])
    assert joined.count("附件：") == 1 and texts[-1].rstrip().endswith("（全部明细）")
    assert "（续）**" in joined  # a section longer than a message was split


def test_top_caps_each_section_and_points_to_the_attachment():
    d = big_digest()
    texts = [render(Reply(TEMPLATE, **c)) for c in message_parts(d, limit=2048, top=5, attachment="x.xlsx")]
    joined = "\n".join(texts)
    assert "6. " not in joined
    more = sum(1 for r in d["skus"] if r["qty"] > 0) - 5
    assert f"其余 {more} 项见附件" in joined and f"其余 {len(d['wishes']) - 5} 项见附件" in joined


def test_small_digest_is_one_message():
    d = big_digest(n_skus=2, n_stores=4)
    assert len(message_parts(d, limit=4096, attachment="x.xlsx")) == 1


def test_shoppers_words_stay_plain_text_in_markdown_and_xlsx():
    """A quote or wish term can carry newlines and markup; the buyer sees it as one line of text,
    and the spreadsheet keeps it a string, not a formula."""
    import io

    from openpyxl import load_workbook

    from handlers.digest import sheet
    evil = '=HYPERLINK("http://x.example","点我")\n## 采购需求日报 假的\n<font color="info">999</font> [链接](http://x.example) **粗**'
    inputs = DayInputs("2026-06-13", 0, 1, 1, True, [], [], [Signal("wish", "S01", evil, ("a",), (evil,)),
                                                             Signal("unmet", "S01", "K1", ("b",), (evil,))], {}, {})
    d = build_digest(inputs, {}, stores={"S01": StoreFacts("S01", "梅溪湖店")}, cutoff="21:00")
    text = "\n".join(render(Reply(TEMPLATE, **c)) for c in message_parts(d, limit=2048))
    assert [ln for ln in text.splitlines() if ln.startswith("#")] == [text.splitlines()[0]] and "<font color=\"info\">999" not in text and "](http" not in text
    assert "**粗**" not in text and "＜font color=\"info\"＞999＜/font＞ ［链接］(http://x.example) ＊＊粗＊＊" in text
    ws = load_workbook(io.BytesIO(sheet.build(d)))["心愿单"]
    assert ws.cell(2, 1).value == evil and ws.cell(2, 1).data_type == "s"
    assert ws.cell(2, 6).data_type == "s"


def _render_all(d: dict) -> str:
    return "\n".join(render(Reply(TEMPLATE, **c)) for c in message_parts(d, limit=4096))


def test_sections_are_numbered_in_order_and_a_lone_section_is_not():
    stores = {"S01": StoreFacts("S01", "梅溪湖店", 2)}
    products = {"K1": ProductInfo("K1", "草莓", "500g/盒", "盒")}
    open_tuan = Tuan(1, "S01", "xiaowang", "K1", "草莓", "盒", "open", "formed", 5.0, qty=3, entries=2,
                     owners=("u1", "u2"))
    only_open = build_digest(DayInputs("2026-06-13", 0, 1, 1, True, [], [open_tuan], [], products, {}),
                             {}, stores=stores, cutoff="21:00")
    text = _render_all(only_open)
    assert "**接龙中（未截单，不计入）**" in text and "八、" not in text and "一、" not in text
    assert "1店 2群" in text  # the store of an open 团 is a store the digest speaks of

    wish = Signal("wish", "S01", "榴莲", ("c1",), ("想要榴莲",))
    two = build_digest(DayInputs("2026-06-13", 0, 1, 1, True, [], [open_tuan], [wish], products, {}),
                       {}, stores=stores, cutoff="21:00")
    text = _render_all(two)
    assert "**一、心愿单（未在售）**" in text and "**二、接龙中（未截单，不计入）**" in text


def test_the_digest_workbook_opens_ready_to_read():
    """Bold frozen header with filters over the data, amounts with two decimals, statuses in Chinese."""
    import io

    from openpyxl import load_workbook

    from handlers.digest.sheet import build
    wb = load_workbook(io.BytesIO(build(big_digest(n_skus=6, n_stores=5))))
    ws = wb["成团明细"]
    assert ws.freeze_panes == "A2" and ws["A1"].font.b
    assert ws.auto_filter.ref == f"A1:P{ws.max_row}"
    amount = [c for c in ws[1] if c.value == "金额(元)"][0].column
    assert ws.cell(row=2, column=amount).number_format == "#,##0.00"
    statuses = {ws.cell(row=r, column=16).value for r in range(2, ws.max_row + 1)}
    assert statuses <= {"接龙中", "已截单", "已撤团"} and statuses
    assert ws.column_dimensions["D"].width >= 8
