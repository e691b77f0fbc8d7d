"""The money rule (docs/contract.md, "Money"), in Python: the same rule as the dbt macro money_ratio.

Every money column is an exact decimal with MONEY_SCALE places. A money ratio (average order value) is the exact
quotient rounded half away from zero to MONEY_SCALE places; a figure shown on a page is that value rounded half
away from zero to SHOWN_PLACES places. The page and the tests both use these functions, so the page cannot show
a value other than the mart's rounded by the rule.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

MONEY_SCALE = 4  # macro money_scale(): money_type() is decimal(18, 4), money_total_type() decimal(38, 4)
SHOWN_PLACES = 2


def round_money(value: Decimal | Fraction | int, places: int = MONEY_SCALE) -> Decimal:
    """`value` rounded half away from zero (decimal's ROUND_HALF_UP) to `places` places, computed exactly."""
    exact = Fraction(value)
    units = abs(exact) * 10**places
    whole = (units.numerator * 2 + units.denominator) // (units.denominator * 2)
    return Decimal(whole if exact >= 0 else -whole).scaleb(-places)


def money_ratio(total: Decimal | int, count: int) -> Decimal | None:
    """total / count rounded by the money rule, None when count is 0 (average order value = sales / orders)."""
    return round_money(Fraction(total) / count) if count else None


def shown_money(value: Decimal | Fraction | int) -> Decimal:
    """A money value as a page shows it: rounded half away from zero to SHOWN_PLACES places."""
    return round_money(value, SHOWN_PLACES)
