"""How shoppers talk: the word lists and patterns the matcher reads, kept apart from its mechanics.

Nothing here names a catalog product or a FAQ id: product words come from the catalog and FAQ
topics from the FAQ file. These lists describe the language around them (questions, fillers,
quantities, wishes, chatter) and map common phrasings of store-policy questions onto the kind of
keyword a FAQ file uses, so the file's own keywords decide which entry answers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# What a product question asks: (attribute, pattern), attribute one of price, stock, spec, origin,
# shelf_life, promo. The earliest match in the line wins; at the same position the longer one.
ATTRIBUTE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("promo", re.compile(
        r"特价|优惠|活动|打折|折扣|几折|促销|半价|第二(?:件|盒|份|箱|袋|瓶)|满减|满\d+减|买.送.|买赠|赠品|"
        r"送什么|秒杀|会员价|团购价|限购|能买几|可以买几|最多买|限量|便宜点|划算")),
    ("shelf_life", re.compile(
        r"保质期|保鲜期|能放|放几天|放多久|可以放|存放|保存|过期|生产日期|几号生产|哪天生产|什么时候生产|"
        r"新鲜吗|新不新鲜|新鲜不|新鲜的吗|冷藏|冷冻吗|冰箱|当天的|今天的吗|现杀|坏得快")),
    ("origin", re.compile(
        r"产地|哪里产|哪产|哪儿产|哪里的|哪儿的|哪的|哪里来|哪来的|从哪|原产|产自|进口的?吗|是进口|国产的?吗|"
        r"哪个国家|哪国|哪里生产|哪个厂|厂家|品牌")),
    ("spec", re.compile(
        r"多大|多重|多少克|多少g|几克|多少斤|规格|多少毫升|多少ml|容量|净含量|重量|分量|个头|大小|尺寸|尺码|码数|什么码|"
        # "几盒" asks the size of a pack, but "要几盒" is how many the shopper wants
        r"(?<![要买拿订来留报])(?:几斤|几两|多少个|几个|几只|几瓶|几包|几袋|几盒|几罐|几根|几条|几片|几枚|几卷|几抽|几升)|"
        r"什么馅|啥馅|几种馅|口味|什么味|啥味|味道|甜不甜|甜吗|酸不酸|酸吗|辣不辣|辣吗|好吃吗|好吃不|好喝吗|"
        r"脆不脆|软不软|是活的|活的吗|死的|品种|什么样|长什么样|几人份|装的吗|"
        r"一(?:箱|盒|袋|提|包|瓶|桶|罐|份|组|排)有?(?:多少|几)(?:个|只|瓶|包|袋|盒|斤|克|g|片|枚|卷|罐|支|根|条|杯|抽|升)")),
    ("stock", re.compile(
        r"有货|诱惑|没货|缺货|断货|卖完|卖光|售罄|抢完|没了|到货|"
        r"到了|到没|到了没|上了|上货|上架|补货|来货|进货|现货|库存|剩|什么时候有|啥时候有|何时有|哪天有|"
        r"什么时候到|啥时候到|能到|几号到|有卖|卖不卖|卖吗|在卖|还卖|有的卖|能买到|"
        r"买得到|买不到|能订|预定|预订|留一|留几|留两|能不能进|能进|进点|进些|进一点|进一些|想要|想买|求")),
    ("price", re.compile(
        r"多少钱|多钱|几块|几元|几毛|价格|价钱|价位|什么价|啥价|怎么卖|咋卖|怎么算|多少一|一斤多少|"
        r"贵不贵|贵吗|便宜吗|单价|报价|标价|售价|卖多少|多少$|几钱")),
]

# "有没有 X" / "X 有吗" frame any question; they mean stock only when nothing more specific is asked
# ("五花肉有没有特价" asks about the promo).
STOCK_FRAME = re.compile(r"有吗|有没有|有没|有木有|有莫有|有冇|有无|还有|[今明]天有(?!什么)")

# A line is a question or a wish when one of these appears (besides any attribute pattern).
CUE = re.compile(
    r"[?吗呢么嘛]|哪|有没有|有无|卖不卖|有卖|想要|想买|要买|想订|能不能|可不可以|可以|能否|进点|进些|进一点|"
    r"进一些|进货|进点货|求|哪里有|哪有|多少|几|啥|什么|怎么|咋|没有|没$|不$|要$|推荐")

# Asking which kinds there are: answer with the whole family, not the one the alias points at.
VARIETY = re.compile(r"几种|哪几种|哪些|哪几|什么牌子|哪个牌子|啥牌子|哪种|哪款|哪个好|什么品种|几个品种|几款|"
                     r"有什么(?:牌子|品种|种类)|都有什么|有哪")

# A question, as opposed to a line that only names an attribute ("榴莲味道太冲了" asks nothing).
QUESTION = re.compile(
    r"[?吗呢么嘛]|有没有|有没|有木有|多少|几|什么|啥|怎么|咋|哪|能不能|可不可以|是不是|能否|想了解|想知道|想问|请问|"
    r"([\u4e00-\u9fff])不\1|没有$|没$|不$")

# A store-wide promotions question (no product named).
PROMO_LIST = re.compile(
    r"特价|优惠|活动|打折|折扣|促销|半价|第二件|满减|满\d+减|买.送.|买赠|秒杀|便宜的|划算|福利|团购价|"
    r"清仓|甩卖|会员日|有什么便宜|降价|好价|特惠|折扣|便宜货|便宜东西|平价")

# A promotion word attached to a generic noun asks for the promotions of that kind ("特价菜",
# "打折的水果", "有什么肉在打折"), not which product.
PROMO_ON_NOUN = re.compile(r"(?:特价|打折|促销|优惠|半价)的?[^\s,.?!吗呢么]|有什么.{0,4}(?:特价|打折|促销|优惠)|哪些.{0,4}(?:特价|打折|促销)")

# Statements and chatter: with no question cue they make a line "none" even if it names a product.
STATEMENT = re.compile(
    r"谢谢|感谢|多谢|辛苦|收到|好的|好滴|好嘞|ok|嗯|哈哈|呵呵|嘿嘿|哦|晚安|早安|早上好|再见|拜拜|"
    r"已付|已转|已下单|付了|转了|转账了|付款了|支付了|下单了|拿到|买到|到手|吃了|喝了|买了|做了|好吃|好喝|不错|很甜|真甜|好甜|很新鲜|"
    r"赞|喜欢|满意|推荐给|明白|知道了|了解了|可以的|行的|没问题|客气|天气|爱吃|爱喝|已经|吃完|喝完|用完|"
    r"(?:好|真|挺|太|很|超|超级|特别|非常|蛮)[\u4e00-\u9fff]|想吃|想喝|[了啦]$|"
    # stories and feelings: habits, family, health, the past ("我闺女只喝酸奶", "我减肥不吃米饭")
    r"(?:只|都|就|天天|每天|每次|经常|一直|从来|最|老是|总是)(?:吃|喝|用|爱|喜欢|买)|(?:不爱|不吃|不喝|戒了|戒掉)|"
    r"减肥|戒烟|戒酒|发烧|感冒|生病|住院|怀孕|心情|难过|开心|郁闷|烦死|累死|"
    r"(?:上|前)(?:周|个月|个星期|次)|昨天|前天|去年|小时候|卡了|死机|坏掉了|"
    r"(?:少|多)(?:吃|喝)|每天|天天|每晚|生日|婚礼|聚会|出差|旅游|放学|上班|下班|考试|[好棒赞]$")

# Reported speech: what someone else said or wants is a story even with a wish in it
# ("我老婆说要买点水果", "医生叫我少吃盐"); only a real question cue makes it an ask.
NARRATIVE = re.compile(
    r"(?:妈|爸|婆|公|老公|老婆|女儿|儿子|孩子|朋友|同事|邻居|阿姨|医生|老师|他|她|人家)(?:说|讲|觉得|叫我|让我|要我)")

# Statements that contain a cue-like fragment ("收到了" is not "到了吗").
NOT_A_CUE = re.compile(r"收到了?|拿到了?|到手了?|已到|谢谢|感谢|可以的|好的")

# Goods a grocery does not sell: a story or complaint about them ("上周买的华为手机坏了") is not
# this store's after-sales question, and they never go on the wish list.
NOT_GROCERY = re.compile(r"手机|电脑|电视|平板|耳机|充电器|iphone|ipad|华为|苹果手机|衣服|裤子|鞋|房子|车票|机票|门票|医院|工作|"
                         r"冰箱|洗衣机|空调|热水器|微波炉|家电")

# Group-buy orders and coupon talk belong to other features: never a product question.
NOT_QA = re.compile(
    r"接龙|^\+\s*\d|\+\s*\d+\s*$|报名|报一份|报两份|报了|帮我.{0,4}报|给我.{0,2}报|改成\s*[\d一二两三四五六七八九十]|"
    r"删掉|删除|取消|截单|成团|开团|拼单|券")

# A wish-list term is an item: words about orders, money or the group are not.
NOT_AN_ITEM = re.compile(
    r"券|订单|截单|下单|账单|团购|拼团|成团|开团|团长|群|单号|手机号|号码|提货码|二维码|验证码|积分|会员|发票|小票|"
    r"收据|链接|小程序|红包|^人$|新人|有人|时间|位置|地址|价钱|价格|钱$|" + NOT_GROCERY.pattern)

# Questions about a product (price, stock, a wish): only these make a leftover word a wish-list item.
PRODUCT_CUE = re.compile(
    r"有没有|有没|有木有|有莫有|有无|有吗|有卖|卖不卖|卖吗|在卖|还有|有货|到货|什么时候有|啥时候有|想要|想买|要买|"
    r"能不能进|能进|进点|进些|进一点|进一些|进货|求|多少钱|多钱|几块|什么价|啥价|怎么卖|咋卖|价格|有的卖|哪里有|哪有|"
    r"有冇|有.{1,8}[吗么没]|卖.{1,8}[吗么]|进.{1,8}[吗么]|订|预定|预订")

# Whole-line chatter: nothing else needs to be read.
CHATTER = re.compile(
    r"^(?:谢谢|感谢|多谢|辛苦|收到|好的|好滴|好嘞|好|行|嗯|哦|ok|okk|okay|哈|呵|嘿|嘻|赞|棒|👍|早安|晚安|"
    r"早上好|晚上好|中午好|下午好|大家好|你好|您好|再见|拜拜|谢|老板|亲|在吗|在不在|是的|对|对的|没事|"
    r"明白|知道了|了解|可以|可以的|没问题|客气|不客气|\+1|1|666|[,.?!~\s])+"
    r"(?:了|啦|哈|呀|啊|哦|噢|呢|吧|老板|老板娘|亲|大家|各位|你|您)*$")

# Adjectives and packaging words that narrow nothing in a small catalog ("新鲜的草莓", "整箱牛奶").
GENERIC_MODIFIERS = frozenset("""
新鲜 新 鲜 大 小 好 好的 好吃 好吃的 好喝 便宜 便宜的 贵 贵的 甜 甜的 进口 国产 本地 当地 当季 应季 时令
冰 冰的 冰冻 冷冻 冷藏 常温 鲜活 活 活的 熟 生 散装 盒装 袋装 瓶装 桶装 罐装 箱装 整箱 整件 整只 整个 大瓶
小瓶 大包 小包 大袋 小袋 大盒 小盒 大桶 小桶 大罐 小罐 大个 小个 大号 小号 特大 超大 普通 一般 正常 特价 打折
优质 精品 上等 正宗 老 嫩 新到 刚到 今天到 现货 同款 这款 那款 原装 正品 家用 家庭装 实惠 实惠装 经济装
大份 小份 一份 半份 纯 天然 无 有 原 原味 普通的 一样 各种 所有 全部 其他 别的 类 这类 那类
""".split())

# Characters that never start a brand name: pronouns, verbs of asking/buying, particles, adverbs.
FUNCTION_CHARS = frozenset(
    "的了吗呢啊呀吧嘛哦么噢喔啦咯呗哟嗯诶哇我你您他她它们咱这那哪谁啥有没无不是在还也都就再又才和与跟及或"
    "要想买卖能会可给帮把让请问叫个些来去到多少几怎样咋吃喝拿订留送找看等说讲告诉知道觉得很太挺便宜贵谢"
    "各每另其共总仅均曾将被所因为以而且但若则于对从向往比像同进上下")

# Words that break a noun phrase and are never part of a product or a wish term.
STOP_PHRASES = sorted(set("""
有没有 有没 有无 有木有 有莫有 有冇 冇 还有没有 还有没 还有 有货 没货 现货 缺货 断货 到货 补货 上货 进货 点货 进点货
多少钱 多少 几块钱 几块 几元 几钱 什么价 啥价 价格 价钱 价位 怎么卖 咋卖 怎么样 咋样 卖不卖 卖吗 有卖 有的卖
卖的 在卖 还卖 想要 想买 要买 我要 我想 想问 想问下 想问一下 想了解 想了解一下 问问 问下 问一下 请问 能不能 能否 可不可以 可以 进点 进些
进一点 进一些 能进 帮忙 帮我 麻烦 你们 我们 咱们 你家 你们家 这里 那里 这边 那边 店里 店里面 超市 家里
门店 这个 那个 这种 那种 这款 那款 哪个 哪种 哪款 什么 啥 今天 明天 昨天 后天 今晚 明早 明晚 早上 上午 中午
下午 晚上 现在 最近 这周 下周 本周 周末 这几天 过几天 下次 上次 这次 回头 以后 平时 每天 天天 一般 过两天 改天
好久 好多 好几 多久 多长时间 几时
之前 以前 刚才 刚刚 马上 一会 一会儿 一下 一点 一些 有点 老板 老板娘 大家 谢谢
好的 保质期 保鲜期 产地 规格 哪里产 哪里 哪儿 哪 新鲜 新不新鲜 甜不甜 好吃 好不好吃 好吃吗 是不是 是否 上了没
上了 上架 到了 到没 来了 还没 还没有 什么时候 啥时候 几点 多久 几天 能放 放几天 几号 生产 日期 活的 死的
大不大 个头 多大 多重 几斤 几个 几只 几瓶 特价 优惠 活动 打折 半价 第二件 满减 促销 限购 能买 馅 口味 味道
一箱 一盒 一袋 一斤 一瓶 一包 一提 一桶 一个 有吗 没有 没了 卖完 卖光 诱惑 东西 货 商品 产品 品种 牌子 品牌
厂家 进口 国产 怎么 怎么办 如何 为啥 为什么 咋办 谁 亲 宝宝 宝子 姐妹 朋友 人 阿姨 师傅 小助手 助手 客服 导购
机器人 店长 群主 团长 美女 帅哥 吗 呢 啊 呀 吧 嘛 哦 的 了 和 跟 还是 或者 也 都 就 又 再 只 还 要 想 买 卖 有
能 会 给 看看 看 找 订 预定 预订 留 帮 来 来点 来一 要点 需要 打算 准备 一直 一起 已经 等 等等 之类 类似
好价 特惠 个数 口感 包装 品质 质量 颜色 个头 大小 新鲜度 甜度 熟度 重量 价位 尺寸 形状 外观 成色 批次 品相 库存 数量 保熟 保甜
甜吗 酸吗 辣吗 好喝吗 贵吗 便宜吗 贵不贵 多钱 单价 报价 售价 标价 团购 接龙 拼单 拼团 下单 预售 上新
""".split()), key=len, reverse=True)

STOP_TOKENS = frozenset(STOP_PHRASES)
# Only phrases of two or more characters are marked inside a line; single characters count as
# stop words only when the segmenter cuts them out alone, so "有机" or "人参" survive.
STOP_RE = re.compile("|".join(re.escape(w) for w in STOP_PHRASES if len(w) > 1))

# Quantities: a number or counting word followed by a classifier ("一箱", "两斤", "5升", "l码").
CLASSIFIERS = ("公斤", "毫升", "ml", "kg", "个", "只", "斤", "两", "克", "g", "盒", "箱", "袋", "包", "瓶",
               "桶", "提", "罐", "听", "串", "把", "根", "条", "块", "片", "枚", "颗", "份", "组", "排", "支",
               "卷", "碗", "杯", "升", "l", "码", "件", "套", "双", "对", "扎", "粒", "抽", "层", "朵", "株")
QUANTITY_RE = re.compile(
    r"(?:[0-9]+(?:\.[0-9]+)?|[零一二两俩仨三四五六七八九十百半几多每整单]+)\s*(?:"
    + "|".join(sorted(CLASSIFIERS, key=len, reverse=True)) + r")|[xlms]码|[0-9]+(?:\.[0-9]+)?")
UNIT_CHARS = frozenset("个只斤盒箱袋包瓶桶提罐听串把根条块片枚颗份组排支卷碗杯")

# A product word followed by one of these is a different product ("草莓酱", "苹果汁", "牛肉干").
SUFFIX_MORPHEMES = frozenset("""
酱 汁 干 粉 片 糖 醋 罐头 饼 饼干 糕 蛋糕 酥 脯 条 丝 丁 馅 味 汤 粥 冻 冰 冰淇淋 雪糕 派 卷 球 丸 茶 酒
饮料 饮品 奶昔 果冻 果脯 蜜饯 味的 口味 饺 包子 面包 挞 滑 仁 皮 膏 泥 酪 串 蓉 羹 露 霜 饭 面 粽 冰棍
腿 爪 翅 蹄 肝 肚 腰 尾 骨 头 肉 心 籽 苗 叶
""".split())

# Pinyin typed for question words, so they are not read as product pinyin ("caomeiyouma").
PINYIN_CUES = ("youhuoma", "youhuo", "youmeiyou", "haiyouma", "haiyou", "youma", "duoshaoqian", "duoshao",
               "jiage", "zenmemai", "meiyou", "mei", "ma", "ne", "a", "ya", "you")

# Homophones of cue words typed by pinyin input ("诱惑吗" for "有货吗"), as tone-less syllables.
CUE_HOMOPHONES = {("you", "huo"): "stock", ("duo", "shao", "qian"): "price"}

# A complaint about goods bought: said as a statement, still a returns question ("香蕉坏了").
COMPLAINT = re.compile(
    r"退(?:货|款|钱|掉|换|吗|不|了|$)?|能退|可以退|换货|能换|可以换|变质|发霉|过期了|(?<!新)不新鲜|"
    r"(?:坏|烂|破|碎|臭|馊|霉|漏)(?:了|的|掉)|变味|少给|少了|缺斤|短斤|少称|质量问题|质量不好|质量太差|质量差|"
    r"投诉|售后|有问题|黑了|全是黑")

# Store-policy topics: how shoppers ask about one (question), and the words that mark a FAQ
# entry as being about it (entry), looked for in the entry's id and keywords and, failing any
# entry with them there, in its answer. So a store's own FAQ wording ("上门" rather than "配送",
# "营业时间" rather than "几点关门") answers the shoppers' phrasings of the same question.
# where=True: a where-is question, weak beside a product ("生抽在哪" asks for the product).
@dataclass(frozen=True)
class FaqTopic:
    name: str
    question: re.Pattern[str]
    entry: tuple[str, ...]
    where: bool = False


FAQ_TOPICS: list[FaqTopic] = [
    FaqTopic("hours", re.compile(
        r"几点(?:钟)?(?:关门|开门|下班|打烊|营业|开始|结束|关)|营业|打烊|关门|开门|开到|开几点|"
        r"上班时间|几点.{0,3}(?:开|关)|过年.{0,4}开|节假日|周末.{0,3}开|今天开|休息|午休|不营业|营业吗|几点到几点|"
        r"还开着|开着吗|还开门|营业中|开不开门|几点.{0,2}(?:收|关)"),
        ("营业", "开门", "关门", "打烊", "几点", "开到", "hours", "open")),
    FaqTopic("delivery", re.compile(
        r"(?<!买.)(?<!赠)送(?:货|到|上门|上楼|过来|来|家|楼|吗|么|不送|的话|不|么|$)|配送|外送|外卖|快递|运费|"
        r"起送|免配|包邮|上门|跑腿|送达|送的|多久送|几点送|能送|可以送|派送|送一下|帮忙送|送过去|送不送"),
        ("配送", "送货", "送到", "上门", "外送", "外卖", "运费", "起送", "送达", "送上", "delivery")),
    FaqTopic("pickup", re.compile(
        r"自提|提货|取货|自取|(?:在|去|到)?哪(?:里|儿)?(?:拿|取|提|领)|什么时候(?:能|可以)?(?:拿|取|提)|"
        r"团购.{0,8}(?:拿|取|提|领)|几点.{0,4}(?:拿|取|提货|领)|怎么(?:拿|取|提)|到店拿|来拿|来取|提货码"),
        ("自提", "提货", "取货", "自取", "领取", "pickup")),
    FaqTopic("returns", COMPLAINT,
             ("退", "换货", "售后", "质量问题", "坏了", "不新鲜", "refund", "return")),
    FaqTopic("payment", re.compile(
        r"付款|支付|付钱|微信付|支付宝|刷卡|现金|医保|转账|扫码|信用卡|怎么付|买单|结账|银联|云闪付|"
        r"货到付款|花呗|收不收.{0,2}(?:钱|卡|现金)|能用.{0,3}(?:微信|支付宝|卡)|刷(?:微信|支付宝|脸)|微信支付|用微信"),
        ("付款", "支付", "微信", "刷卡", "现金", "云闪付", "银联", "信用卡", "payment", "pay")),
    FaqTopic("member", re.compile(r"会员|积分|办卡|储值|充值|会员卡|会员日"),
             ("会员", "积分", "储值", "充值", "member", "vip")),
    FaqTopic("address", re.compile(
        r"地址|(?:店|门店|你们|超市|你家)(?:在|开在)?(?:哪|什么地方|什么位置)|怎么走|怎么去|位置|停车|"
        r"导航|哪个门|在哪(?:里|儿)?$|具体在"),
        ("地址", "位置", "停车", "门牌", "address", "location"), where=True),
    FaqTopic("bags", re.compile(r"购物袋|塑料袋|环保袋|袋子|胶袋|(?:要|拿|给)个?袋|袋.{0,3}(?:钱|收费|免费)"),
             ("购物袋", "塑料袋", "环保袋", "袋子", "bag")),
    FaqTopic("invoice", re.compile(r"发票|开票|报销|抬头|税号"),
             ("发票", "开票", "invoice")),
    FaqTopic("parcels", re.compile(
        r"(?:取|寄|代收|收|拿)快递|快递.{0,3}(?:取|寄|代收|站|点|柜)|驿站|包裹|取件|寄件|菜鸟"),
        ("快递", "驿站", "包裹", "代收", "取件", "寄件", "express", "parcel")),
    FaqTopic("bills", re.compile(r"话费|电费|水费|燃气费|煤气费|水电|缴费|交费"),
             ("话费", "电费", "水电", "燃气", "缴费", "bills")),
    FaqTopic("preorder", re.compile(r"预订|预定|提前订|订货|留货|帮我留|能订|可以订|订购|预约"),
             ("预订", "预定", "订货", "留货", "订购", "预约", "preorder")),
    FaqTopic("contact", re.compile(r"电话|联系方式|怎么联系|客服|热线|座机"),
             ("电话", "联系", "热线", "客服", "contact", "phone")),
    FaqTopic("restroom", re.compile(r"洗手间|厕所|卫生间|茅房"), ("洗手间", "厕所", "卫生间", "toilet")),
    FaqTopic("wifi", re.compile(r"wifi|无线网|网络密码|wi-fi|上网"), ("wifi", "无线", "网络")),
    FaqTopic("storage", re.compile(r"寄存|存包|储物柜|存东西"), ("寄存", "存包", "储物")),
    FaqTopic("processing", re.compile(
        r"杀鱼|杀鸡|宰|杀(?:吗|不|一下|好)|帮忙杀|帮忙切|帮.{0,2}切|切块|切片|切开|切段|去鳞|刮鳞|代加工|加工|绞肉|搅肉|剁"),
        ("杀鱼", "杀鸡", "代杀", "宰杀", "代加工", "去鳞", "切块", "切片", "加工")),
]

# FAQ keywords that, when a product is named, ask where the product is rather than the store.
LOCATION_WORDS = frozenset(("在哪里", "在哪", "位置", "怎么走", "哪里", "地址"))

# Latin runs that are chatter, not pinyin for a product.
LATIN_CHATTER = frozenset(("ok", "okk", "okay", "hh", "hhh", "hhhh", "haha", "hahaha", "lol", "yes", "no",
                           "thx", "thanks", "hi", "hello", "bye", "emm", "em", "en", "xx", "ps", "qq", "vx"))
