"""The money rule (docs/contract.md, "Money"): exact ratios rounded half away from zero, the same in Python as in
the dbt macro money_ratio (whose unit test daily_average_order_value_rounds_half_away_from_zero pins the same
halves on the model)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from customer_agent_warehouse.money import MONEY_SCALE, money_ratio, round_money, shown_money


@pytest.mark.parametrize(("total", "count", "expected"), [
    (Decimal("425.8100"), 2, Decimal("212.9050")),
    (Decimal("200.0005"), 2, Decimal("100.0003")),  # a half: half-even and truncation give 100.0002
    (Decimal("-200.0005"), 2, Decimal("-100.0003")),  # away from zero, not up
    (Decimal("0.0003"), 2, Decimal("0.0002")),  # a division through a double gives 0.0001
    (Decimal("2.0000"), 3, Decimal("0.6667")),
    (Decimal("10.0499"), 1000, Decimal("0.0100")),  # rounding 6 places first (Spark's default) gives 0.0101
    (Decimal("0.0000"), 5, Decimal("0.0000")),
    (Decimal("99999999999999999999.9999"), 7, Decimal("14285714285714285714.2857")),  # beyond a double's digits
])
def test_a_money_ratio_is_exact_and_rounded_half_away_from_zero(total: Decimal, count: int,
                                                               expected: Decimal) -> None:
    ratio = money_ratio(total, count)
    assert ratio == expected and ratio.as_tuple().exponent == -MONEY_SCALE, ratio


def test_a_ratio_without_orders_is_null() -> None:
    assert money_ratio(Decimal("0.0000"), 0) is None


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("212.9050"), "212.91"), (Decimal("212.9049"), "212.90"), (Decimal("212.8950"), "212.90"),
    (Decimal("-0.0050"), "-0.01"), (Decimal("0"), "0.00"), (Fraction(1, 8), "0.13"), (7, "7.00"),
])
def test_a_shown_value_is_rounded_half_away_from_zero_to_cents(value: Decimal | Fraction | int,
                                                                expected: str) -> None:
    assert str(shown_money(value)) == expected


def test_rounding_is_exact_far_beyond_a_double() -> None:
    assert round_money(Decimal("12345678901234567890.12345"), 4) == Decimal("12345678901234567890.1235")
