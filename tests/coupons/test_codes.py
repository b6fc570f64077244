"""Coupon codes: randomness, alphabet, check symbol strength, normalisation and display."""
from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from handlers.coupons.codes import (
    ALPHABET,
    CODE_LENGTH,
    RANDOM_LENGTH,
    check_symbol,
    code_problem,
    format_code,
    is_well_formed,
    new_code,
    normalize_code,
)

N = 100_000


@pytest.fixture(scope="module")
def os_codes() -> list[str]:
    return [new_code() for _ in range(N)]


def _sample(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [new_code(rng) for _ in range(n)]


def test_alphabet_has_32_symbols_without_lookalikes():
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("0O1I") & set(ALPHABET)
    assert RANDOM_LENGTH * math.log2(len(ALPHABET)) >= 40


def test_codes_have_length_alphabet_and_valid_check(os_codes):
    for code in os_codes:
        assert len(code) == CODE_LENGTH
        assert set(code) <= set(ALPHABET)
        assert is_well_formed(code)


def test_os_codes_are_unique_over_100k(os_codes):
    # 1e5 draws from 2**40 collide with probability ~0.5 %, two collisions ~1e-5: allow one.
    assert N - len(set(os_codes)) <= 1


def test_seeded_codes_are_unique_and_reproducible():
    codes = _sample(N, seed=7)
    assert len(set(codes)) == N
    assert _sample(10, seed=7) == codes[:10]
    assert _sample(10, seed=8) != codes[:10]


def test_every_random_position_is_uniform(os_codes):
    expected = N / 32
    for pos in range(RANDOM_LENGTH):
        counts = Counter(code[pos] for code in os_codes)
        assert set(counts) == set(ALPHABET)
        chi2 = sum((counts[ch] - expected) ** 2 / expected for ch in ALPHABET)
        assert chi2 < 90, (pos, chi2)  # 31 degrees of freedom: P(chi2 > 90) is about 1e-7


def test_check_catches_every_single_substitution():
    for code in _sample(500, seed=1):
        for pos in range(CODE_LENGTH):
            for ch in ALPHABET:
                if ch != code[pos]:
                    typo = code[:pos] + ch + code[pos + 1:]
                    assert code_problem(typo) == "bad_check", (code, typo)


def test_check_catches_every_transposition_adjacent_or_not():
    caught = total = 0
    for code in _sample(3000, seed=2):
        for i in range(CODE_LENGTH):
            for j in range(i + 1, CODE_LENGTH):
                if code[i] == code[j]:
                    continue
                swapped = list(code)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                total += 1
                caught += not is_well_formed("".join(swapped))
    assert total > 100_000
    assert caught == total


def test_check_catches_every_adjacent_twin_error():
    for code in _sample(300, seed=3):
        for i in range(CODE_LENGTH - 1):
            if code[i] != code[i + 1]:
                continue
            for ch in ALPHABET:
                if ch != code[i]:
                    assert not is_well_formed(code[:i] + ch + ch + code[i + 2:])


def test_double_substitutions_slip_through_about_one_in_32():
    rng = random.Random(4)
    missed, trials = 0, 64_000
    for code in _sample(trials, seed=5):
        i, j = rng.sample(range(CODE_LENGTH), 2)
        typo = list(code)
        typo[i] = rng.choice(ALPHABET.replace(code[i], ""))
        typo[j] = rng.choice(ALPHABET.replace(code[j], ""))
        missed += is_well_formed("".join(typo))
    assert 0.8 / 32 < missed / trials < 1.2 / 32


def test_check_symbol_needs_eight_symbols():
    with pytest.raises(ValueError):
        check_symbol("ABC")


@pytest.mark.parametrize("typed", [
    " k5ye-bt54-n ", "K5YE BT54 N", "ｋ５ｙｅ－ｂｔ５４－ｎ", "K5YE—BT54—N", "k5ye_bt54.n", "K5YE·BT54·N",
    "K5YE\u3000BT54\u3000N",
])
def test_normalize_undoes_formatting_only(typed):
    assert normalize_code(typed) == "K5YEBT54N"
    assert is_well_formed(normalize_code(typed))


def test_lookalikes_are_never_mapped_to_a_valid_code():
    for code in _sample(300, seed=6):
        for pos in range(CODE_LENGTH):
            for lookalike in "0O1Io":
                typed = normalize_code(code[:pos] + lookalike + code[pos + 1:])
                assert not is_well_formed(typed)
                assert code_problem(typed) == f"bad_char:{lookalike.upper()}"


@pytest.mark.parametrize("code, problem", [
    ("", "empty"),
    ("K5YEBT54", "bad_length"),
    ("K5YEBT54NN", "bad_length"),
    ("K5YEBT5IN", "bad_char:I"),
    ("K0YEBT5O1", "bad_char:0O1"),
    ("K5YEBT54P", "bad_check"),
    ("K5YEBT54N", None),
    ("k5yebt54n", "bad_char:kyebtn"),  # canonical form is upper-case: normalise first
])
def test_code_problem(code, problem):
    assert code_problem(code) == problem
    assert is_well_formed(code) is (problem is None)


def test_format_groups_of_four_and_round_trips(os_codes):
    assert format_code("K5YEBT54N") == "K5YE-BT54-N"
    for code in os_codes[:1000]:
        shown = format_code(code)
        assert [len(g) for g in shown.split("-")] == [4, 4, 1]
        assert normalize_code(shown) == code
