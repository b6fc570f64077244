"""Coupon codes: random, unguessable, typeable, with a check character.

A code is 8 random symbols plus 1 check symbol over a 32-symbol alphabet that leaves out the
look-alikes 0, O, 1 and I: ``23456789ABCDEFGHJKLMNPQRSTUVWXYZ``. Eight symbols of 5 bits each give
exactly 40 bits of randomness (about 1.1e12 codes), so guessing a live code is hopeless even with
a million codes issued; the store still rejects a colliding code at claim time (HSETNX and retry).

Check character
---------------
Each symbol is read as an element of the finite field GF(32) (5-bit values, arithmetic modulo the
primitive polynomial x^5 + x^2 + 1). Position ``i`` of the 8 random symbols gets the weight
``alpha**(i + 1)`` and the check symbol gets weight 1 (= ``alpha**0``); the check symbol is chosen
so that the weighted sum of all nine symbols is zero. This is the field analogue of the familiar
"weighted sum modulo a prime" (ISBN-10 uses mod 11); a field of exactly 32 elements is used because
no prime equals the alphabet size, and a mod-31 or mod-37 check would either merge two symbols or
need a check alphabet larger than the code alphabet.

Because the nine weights are distinct and non-zero:

* every single-symbol substitution is caught: it changes the sum by ``w * (a - b) != 0``;
* every transposition of two different symbols is caught, adjacent or not: the sum changes by
  ``(w_i - w_j) * (a - b) != 0``;
* every "twin" error (``aa`` -> ``bb`` in adjacent positions) is caught for the same reason.

A Damm quasigroup of order 32 would also catch all single substitutions and adjacent
transpositions, but not jump transpositions, and it needs a 32x32 table to explain. Any other
random error slips through with probability 1/32, which is why the code is also looked up.

Typed input
-----------
``normalize_code`` only undoes formatting: full-width to half-width (NFKC), upper-case, and it drops
spaces and dash/dot-like separators. It deliberately does NOT map look-alikes (0->O, 1->I, ...):
none of 0, O, 1, I is in the alphabet, so any mapping would be a guess at what the user meant,
and a wrong guess combined with a second typo can land on another valid code (1 time in 32) that
belongs to someone else. A typed 0/O/1/I therefore makes the code malformed and
``code_problem`` reports the offending characters so the reply can say so.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Protocol, Sequence

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
RANDOM_LENGTH = 8  # 8 * log2(32) = 40 bits
CODE_LENGTH = RANDOM_LENGTH + 1
GROUP = 4  # display grouping: ABCD-EFGH-J

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_SEPARATORS = re.compile(r"[\s\-_.·・‐‑‒–—―−﹣]+")

# GF(32) log/antilog tables for the primitive polynomial x^5 + x^2 + 1.
_POLY = 0b100101
_EXP = [0] * 62
_LOG = [0] * 32
_x = 1
for _i in range(31):
    _EXP[_i] = _EXP[_i + 31] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0b100000:
        _x ^= _POLY
del _x, _i


def _mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


_WEIGHTS = tuple(_EXP[i] for i in range(CODE_LENGTH))  # alpha**0 .. alpha**8, all distinct


class Chooser(Protocol):
    """What `new_code` needs from its random source: the `secrets` module or a `random.Random`."""

    def choice(self, seq: Sequence[str]) -> str: ...


def check_symbol(body: str) -> str:
    """The check symbol for the 8 random symbols `body` (canonical alphabet only)."""
    if len(body) != RANDOM_LENGTH:
        raise ValueError(f"code body must have {RANDOM_LENGTH} symbols, got {len(body)}")
    total = 0
    for i, ch in enumerate(body):
        total ^= _mul(_WEIGHTS[i + 1], _VALUE[ch])  # addition in GF(2^k) is XOR
    return ALPHABET[total]  # weight of the check symbol is 1, so it equals the sum


def new_code(rng: Chooser = secrets) -> str:  # type: ignore[assignment]
    """A fresh canonical code (9 symbols, no separators). Uses the OS CSPRNG unless told otherwise."""
    body = "".join(rng.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + check_symbol(body)


def normalize_code(text: str) -> str:
    """Typed text -> canonical form: NFKC, upper-case, separators removed. Never guesses look-alikes."""
    text = unicodedata.normalize("NFKC", text or "").upper()
    return _SEPARATORS.sub("", text)


def code_problem(code: str) -> str | None:
    """Why a canonical code is malformed, as a machine code, or None if it is well formed.

    ``empty``; ``bad_length``; ``bad_char:<chars>`` (the distinct characters outside the alphabet,
    in order of appearance, e.g. ``bad_char:0I``); ``bad_check`` (a typo the check symbol caught).
    """
    if not code:
        return "empty"
    bad = "".join(dict.fromkeys(ch for ch in code if ch not in _VALUE))
    if bad:
        return f"bad_char:{bad}"
    if len(code) != CODE_LENGTH:
        return "bad_length"
    if check_symbol(code[:RANDOM_LENGTH]) != code[RANDOM_LENGTH]:
        return "bad_check"
    return None


def is_well_formed(code: str) -> bool:
    """True for a canonical code (run `normalize_code` first) with a valid check symbol."""
    return code_problem(code) is None


def format_code(code: str) -> str:
    """Canonical code -> display form in groups of four: ``ABCD-EFGH-J``."""
    code = normalize_code(code)
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))
