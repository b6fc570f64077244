"""A realistic chain catalog for benchmarks: thousands of SKUs, per-store prices and stock, local rows.

Deterministic (seeded), written in the import format (the CSV `qunbot catalog import` and
POST /api/catalog take), so a bench drives the service through its public import and never
depends on how the catalog is stored or indexed.

- The demo catalog (data/catalog.csv, 114 rows) comes first, unchanged, so demo questions still hit.
- The rest are generated per category from brands/origins, qualifiers and product nouns, with the
  nouns and brand+noun as aliases; many SKUs share an alias (草莓, 牛奶, 洗发水), as in a real store.
- `varied` of the chain-wide rows get one row per store (same name, own price and stock), which the
  import format expresses as per-store variants: `F0007,...,stores=S0001`, `F0007,...,stores=S0002`.
- `local_stores` stores carry `local_per_store` products of their own (sku L<store>-<n>).

    python bench/catalog_gen.py --skus 5000 --stores 1000 -o /tmp/chain.csv
"""
from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "catalog.csv"
COLUMNS = ("sku", "name", "aliases", "category", "spec", "unit", "price", "stock", "origin",
           "shelf_life_days", "promo", "stores")

# category -> (sku letter, makers (brands or origins), nouns, (spec, unit, price range yuan), shelf life days)
CATEGORIES: dict[str, tuple[str, list[str], list[str], list[tuple[str, str, float, float]], int]] = {
    "水果": ("F", ["丹东", "智利", "新疆", "烟台", "海南", "赣南", "广西", "云南", "泰国", "陕西", "山东", "四川",
                  "福建", "台湾", "秘鲁", "新西兰"],
             ["草莓", "车厘子", "苹果", "西瓜", "脐橙", "沃柑", "榴莲", "蓝莓", "香梨", "香蕉", "芒果", "青提",
              "猕猴桃", "火龙果", "山竹", "荔枝", "龙眼", "菠萝", "凤梨", "柚子", "桃子", "李子", "杏", "石榴",
              "枇杷", "杨梅", "哈密瓜", "椰子", "牛油果", "柠檬", "百香果", "甘蔗", "柿子", "枣"],
             [("500g/盒", "盒", 9.9, 49.9), ("约250g/个", "斤", 3.98, 19.9), ("5kg/箱", "箱", 39.9, 169.0),
              ("约1kg/份", "份", 12.9, 59.9)], 10),
    "蔬菜": ("V", ["本地", "山东寿光", "云南", "湖南", "内蒙古", "河北", "福建", "东北", "甘肃", "贵州"],
             ["小白菜", "西兰花", "番茄", "圣女果", "黄瓜", "土豆", "胡萝卜", "菜苔", "香菇", "大蒜", "生姜",
              "香菜", "玉米", "茄子", "青椒", "辣椒", "菠菜", "生菜", "芹菜", "韭菜", "冬瓜", "南瓜", "莲藕",
              "山药", "洋葱", "豆角", "四季豆", "丝瓜", "苦瓜", "娃娃菜", "金针菇", "杏鲍菇", "木耳", "空心菜"],
             [("约500g/把", "斤", 1.98, 9.98), ("约300g/个", "斤", 2.48, 12.9), ("400g/盒", "盒", 3.9, 15.9)], 5),
    "肉禽蛋": ("M", ["湖南宁乡", "内蒙古", "澳洲", "双汇", "雨润", "圣农", "温氏", "正大", "本地", "黑猪"],
              ["五花肉", "里脊肉", "前腿肉", "肋排", "羊肉卷", "牛腱子", "三黄鸡", "鸡翅中", "鸡蛋", "土鸡蛋",
               "咸鸭蛋", "火腿肠", "猪蹄", "筒骨", "牛腩", "牛排", "鸡腿", "鸡胸肉", "鸭腿", "猪肝", "梅花肉",
               "培根", "腊肉", "香肠", "鹌鹑蛋"],
              [("约500g/份", "斤", 12.8, 49.8), ("500g/盒", "盒", 15.9, 69.9), ("1kg/袋", "袋", 29.9, 129.0)], 3),
    "水产": ("S", ["湛江", "舟山", "宁德", "洞庭湖", "阳澄湖", "大连", "挪威", "厄瓜多尔", "本地"],
             ["基围虾", "鲈鱼", "大黄鱼", "草鱼", "大闸蟹", "带鱼", "鲫鱼", "鳊鱼", "小龙虾", "花甲", "扇贝",
              "生蚝", "鱿鱼", "三文鱼", "白虾", "海带", "黑鱼", "黄鳝"],
             [("约500g", "斤", 9.98, 89.9), ("约600g/条", "条", 19.9, 69.9), ("1kg/袋", "袋", 29.9, 199.0)], 2),
    "乳品": ("D", ["蒙牛", "伊利", "光明", "君乐宝", "三元", "新希望", "简爱", "卡士", "味全", "安佳", "德亚"],
             ["纯牛奶", "鲜牛奶", "酸奶", "希腊酸奶", "裸酸奶", "乳酸菌饮料", "高钙奶", "低脂奶", "脱脂奶",
              "儿童奶", "奶酪棒", "炼乳", "豆奶", "早餐奶", "核桃奶"],
             [("250ml*12盒", "箱", 39.9, 79.9), ("950ml/瓶", "瓶", 12.9, 29.9), ("100g*6杯", "组", 12.9, 32.9)],
             30),
    "粮油调味": ("G", ["金龙鱼", "鲁花", "福临门", "海天", "李锦记", "老干妈", "太太乐", "中粮", "五常", "千禾",
                      "恒顺", "厨邦", "十三香"],
                 ["大米", "丝苗米", "花生油", "调和油", "菜籽油", "酱油", "生抽", "老抽", "蚝油", "辣椒酱", "食盐",
                  "鸡精", "味精", "面粉", "米粉", "挂面", "醋", "料酒", "白糖", "冰糖", "花椒", "八角", "豆瓣酱",
                  "芝麻油"],
                 [("5kg/袋", "袋", 29.9, 89.9), ("5L/桶", "桶", 49.9, 169.0), ("500ml/瓶", "瓶", 5.9, 29.9)], 365),
    "休闲零食": ("N", ["三只松鼠", "良品铺子", "百草味", "乐事", "奥利奥", "卫龙", "旺旺", "德芙", "洽洽", "盐津铺子",
                      "来伊份", "好丽友"],
                 ["每日坚果", "薯片", "夹心饼干", "辣条", "猪肉脯", "雪饼", "巧克力", "瓜子", "开心果", "夏威夷果",
                  "牛肉干", "鱼豆腐", "果冻", "棒棒糖", "海苔", "蛋黄酥", "威化饼干", "锅巴", "话梅", "山楂片"],
                 [("100g/袋", "袋", 4.9, 19.9), ("500g/盒", "盒", 19.9, 69.9), ("25g*30包", "箱", 59.9, 139.0)], 180),
    "酒水饮料": ("B", ["农夫山泉", "怡宝", "可口可乐", "百事", "元气森林", "东方树叶", "王老吉", "青岛", "雪花",
                      "雀巢", "康师傅", "统一", "娃哈哈", "茅台", "五粮液"],
                 ["矿泉水", "纯净水", "可乐", "气泡水", "茉莉花茶", "凉茶", "啤酒", "速溶咖啡", "冰红茶", "绿茶",
                  "橙汁", "椰汁", "苏打水", "白酒", "红酒", "黄酒", "运动饮料", "奶茶"],
                 [("550ml*24瓶", "箱", 24.0, 69.0), ("500ml/瓶", "瓶", 2.5, 399.0), ("330ml*6罐", "组", 15.9, 39.9)],
                 360),
    "日用清洁": ("H", ["维达", "心相印", "清风", "蓝月亮", "汰渍", "立白", "奥妙", "佳洁士", "高露洁", "海飞丝",
                      "潘婷", "舒肤佳", "威露士"],
                 ["抽纸", "卷纸", "湿巾", "洗衣液", "洗衣粉", "洗洁精", "消毒液", "牙膏", "牙刷", "洗发水", "护发素",
                  "沐浴露", "香皂", "洗手液", "垃圾袋", "保鲜膜", "厨房纸", "衣物柔顺剂"],
                 [("3层130抽*6包", "提", 12.9, 39.9), ("3kg/瓶", "瓶", 19.9, 69.9), ("400ml/瓶", "瓶", 9.9, 59.9)],
                 1095),
    "冷冻速食": ("Z", ["思念", "湾仔码头", "三全", "安井", "统一", "康师傅", "自嗨锅", "海底捞", "正大", "必品阁"],
                 ["水饺", "云吞", "汤圆", "鱼丸", "方便面", "自热火锅", "火锅底料", "鸡排", "手抓饼", "包子",
                  "烧麦", "蛋挞皮", "薯条", "虾滑", "粽子", "馒头"],
                 [("1kg/袋", "袋", 12.9, 39.9), ("400g/袋", "袋", 9.9, 29.9), ("5包/袋", "袋", 12.9, 24.9)], 180),
    "烘焙早餐": ("K", ["桃李", "达利园", "桂格", "安佳", "永和", "宾堡", "西麦", "曼可顿"],
                 ["切片面包", "软面包", "燕麦片", "黄油", "豆浆粉", "吐司", "蛋糕", "麦片", "全麦面包", "奶油"],
                 [("400g/袋", "袋", 6.9, 29.9), ("1kg/袋", "袋", 19.9, 49.9)], 30),
    "母婴": ("Y", ["飞鹤", "帮宝适", "亨氏", "好奇", "贝亲", "美素佳儿", "爱他美", "君乐宝"],
             ["奶粉", "纸尿裤", "婴儿米粉", "拉拉裤", "婴儿湿巾", "奶瓶", "磨牙棒", "婴儿面霜"],
             [("700g/罐", "罐", 159.0, 399.0), ("L码*52片", "包", 69.9, 159.0), ("400g/盒", "盒", 29.9, 59.9)],
             540),
}
QUALIFIERS = ["", "", "", "精选", "特级", "有机", "新鲜", "优选", "家庭装", "经典", "原味", "低糖", "加大"]
PROMOS = ["", "", "", "", "", "", "第二件半价", "买二送一", "满99减10", "限时特价"]


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def demo_rows() -> list[dict]:
    with DEMO.open(encoding="utf-8-sig", newline="") as fh:
        return [{**row, "stores": ""} for row in csv.DictReader(fh)]


def base_rows(n: int = 5000, seed: int = 1) -> list[dict]:
    """n chain-wide rows (no `stores`): the demo rows, then generated ones with distinct names."""
    rng = random.Random(seed)
    rows = demo_rows()[:n]
    names = {r["name"] for r in rows}
    counters: dict[str, int] = {}
    cats = list(CATEGORIES)
    weights = [len(CATEGORIES[c][2]) * len(CATEGORIES[c][1]) for c in cats]
    attempts = 0
    while len(rows) < n:
        attempts += 1
        if attempts > n * 50:
            raise ValueError(f"cannot make {n} distinct names from the vocabulary")
        cat = rng.choices(cats, weights)[0]
        letter, makers, nouns, specs, shelf = CATEGORIES[cat]
        maker, noun, qual = rng.choice(makers), rng.choice(nouns), rng.choice(QUALIFIERS)
        spec, unit, lo, hi = rng.choice(specs)
        name = f"{maker}{qual}{noun}"
        if name in names:  # one more distinct product of the same kind: its pack names it
            name = f"{maker}{qual}{noun}{spec.split('/')[0].split('*')[0]}"
            if name in names:
                continue
        names.add(name)
        counters[letter] = counters.get(letter, 100) + 1
        aliases = dict.fromkeys(a for a in (noun, f"{maker}{noun}", f"{qual}{noun}" if qual else "") if a and a != name)
        price = int(rng.uniform(lo, hi) * 10) * 10 + rng.choice((0, 0, 8, 9))  # 12.90, 12.98, 12.99
        rows.append({"sku": f"{letter}{counters[letter]:04d}", "name": name, "aliases": "|".join(aliases),
                     "category": cat, "spec": spec, "unit": unit, "price": _yuan(max(price, 10)),
                     "stock": str(rng.choice((0, rng.randint(1, 400), rng.randint(1, 400), rng.randint(1, 400)))),
                     "origin": maker if maker[-1] not in "鱼味" else "", "shelf_life_days": str(shelf),
                     "promo": rng.choice(PROMOS), "stores": ""})
    return rows


def store_ids(n: int) -> list[str]:
    return [f"S{i:04d}" for i in range(1, n + 1)]


def chain_rows(stores: list[str], skus: int = 5000, varied: float = 0.10, local_stores: int = 20,
               local_per_store: int = 4, seed: int = 1) -> list[dict]:
    """The chain's import rows: chain-wide rows, per-store variants of `varied` of them, local rows."""
    rng = random.Random(seed + 1)
    rows = base_rows(skus, seed)
    n_varied = int(len(rows) * varied)
    varied_idx = set(rng.sample(range(len(rows)), n_varied))
    out: list[dict] = []
    for i, row in enumerate(rows):
        if i not in varied_idx:
            out.append(row)
            continue
        base = int(row["price"].replace(".", ""))
        for store in stores:  # a chain-wide product with this store's own price and stock
            fen = max(10, base + rng.choice((-100, -50, 0, 0, 50, 100, 200)))
            out.append({**row, "price": _yuan(fen), "stock": str(rng.randint(0, 300)), "stores": store})
    local_vocab = ["土鸡", "手工米粉", "农家腊肉", "现烤面包", "鲜榨果汁", "本地豆腐", "手工水饺", "卤味拼盘"]
    for store in rng.sample(stores, min(local_stores, len(stores))):
        for j, noun in enumerate(rng.sample(local_vocab, local_per_store), 1):
            out.append({"sku": f"L{store}-{j}", "name": f"{store}店{noun}", "aliases": noun, "category": "本地特产",
                        "spec": "约500g/份", "unit": "份", "price": _yuan(rng.randint(990, 4990)),
                        "stock": str(rng.randint(5, 50)), "origin": "本地", "shelf_life_days": "3", "promo": "",
                        "stores": store})
    return out


def to_csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skus", type=int, default=5000)
    ap.add_argument("--stores", type=int, default=1, help="stores S0001..; 1 = one catalog for everyone")
    ap.add_argument("--varied", type=float, default=0.10, help="share of rows with per-store price/stock")
    ap.add_argument("--local-stores", type=int, default=20)
    ap.add_argument("--local-per-store", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--out", help="file to write (default stdout)")
    a = ap.parse_args()
    if a.stores <= 1:
        rows = base_rows(a.skus, a.seed)
    else:
        rows = chain_rows(store_ids(a.stores), a.skus, a.varied, a.local_stores, a.local_per_store, a.seed)
    data = to_csv(rows)
    if a.out:
        Path(a.out).write_bytes(data)
        print(f"{len(rows)} rows ({a.skus} SKUs, {a.stores} stores) -> {a.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)


if __name__ == "__main__":
    main()
