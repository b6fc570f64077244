"""Choose the answer template for a Match and the context it needs. No text is formatted here."""
from __future__ import annotations

from bot.message import Reply
from handlers.qa.engine import Match, QAIndex

PROMO_LINES = 8  # a promotions list longer than this is cut, with a count of the rest
GUESS_STAGES = ("typo", "pinyin", "bm25", "brand")


def guessed(match: Match) -> bool:
    """The product was read from a typo, pinyin or a ranking, not named: say which one we mean."""
    return match.stage in GUESS_STAGES or match.confidence < 0.7


def reply_for(match: Match, index: QAIndex, *, noted: bool = False, human: bool = False,
              pick: bool = False) -> Reply | None:
    """The reply to send for `match`, or None when the line needs no answer (chatter).

    noted: the ask was recorded as demand for the buyers (out of stock, not carried);
    human: the shopper can write 人工 for a guide (微信客服); pick: a number answers a list.
    """
    if match.intent == "product" and match.product is not None:
        # A typo or pinyin read is confirmed in the answer, so a wrong guess is visible at once.
        return Reply("qa/product.txt.j2", p=match.product, attribute=match.attribute or "price",
                     guessed=guessed(match), noted=noted, human=human)
    if match.intent == "clarify" and match.candidates:
        return Reply("qa/clarify.txt.j2", options=list(match.candidates), attribute=match.attribute, pick=pick)
    if match.intent == "faq" and match.faq is not None:
        return Reply("qa/faq.txt.j2", answer=match.faq.answer, faq_id=match.faq.id)
    if match.intent == "promo_list":
        items = list(match.candidates) if match.candidates else list(index.promotions())
        return Reply("qa/promo_list.txt.j2", items=items[:PROMO_LINES], more=max(0, len(items) - PROMO_LINES))
    if match.intent == "unknown_product":
        return Reply("qa/unknown_product.txt.j2", term=match.term, noted=noted, human=human)
    return None
