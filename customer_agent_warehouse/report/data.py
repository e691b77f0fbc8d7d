"""What the dashboard shows, read from the built warehouse (read-only): the two daily marts and a few fact totals.

The rows are the marts' rows, unchanged. Sums over days, channels or skills add the marts' columns; the two
ratios are recomputed from summed parts, never averaged (docs/bi.md): resolution rate =
sum(started_conversations_resolved_by_agent) / sum(conversations_started), average order value =
sum(ai_generated_sales) / sum(attributed_orders), rounded by the money rule (customer_agent_warehouse.money).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, TypeVar

from customer_agent_warehouse.money import money_ratio

DAILY_MART = "marts.agg_customer_agent_daily"
SKILL_MART = "marts.agg_skill_performance"
ESCALATIONS_FACT = "marts.fct_conversation_escalated"
ORDERS_FACT = "marts.fct_attributed_orders"
REQUIRED_RELATIONS = (DAILY_MART, SKILL_MART, ESCALATIONS_FACT, ORDERS_FACT)

Key = TypeVar("Key")


@dataclass(frozen=True)
class DailyRow:
    """One row of marts.agg_customer_agent_daily (reporting day x channel)."""

    reporting_date: dt.date
    channel: str | None
    conversations_started: int
    conversations_resolved_by_agent: int
    conversations_escalated: int
    started_conversations_resolved_by_agent: int
    resolution_rate: float | None
    recommendations: int
    products_recommended: int
    attributed_orders: int
    ai_generated_sales: Decimal
    average_order_value: Decimal | None


@dataclass(frozen=True)
class SkillRow:
    """One row of marts.agg_skill_performance (reporting day x skill)."""

    reporting_date: dt.date
    skill: str
    invocations: int
    conversations: int
    resolutions: int
    escalations: int


@dataclass(frozen=True)
class Totals:
    """Sums of daily rows (any grouping), with the ratios recomputed from the summed parts."""

    conversations_started: int = 0
    conversations_resolved_by_agent: int = 0
    conversations_escalated: int = 0
    started_conversations_resolved_by_agent: int = 0
    recommendations: int = 0
    products_recommended: int = 0
    attributed_orders: int = 0
    ai_generated_sales: Decimal = Decimal(0)

    @classmethod
    def of(cls, rows: Iterable[DailyRow]) -> Totals:
        rows = list(rows)
        return cls(**{item.name: sum((getattr(row, item.name) for row in rows), item.default)
                      for item in fields(cls)})

    @property
    def resolution_rate(self) -> float | None:
        started = self.conversations_started
        return self.started_conversations_resolved_by_agent / started if started else None

    @property
    def average_order_value(self) -> Decimal | None:
        return money_ratio(self.ai_generated_sales, self.attributed_orders)


@dataclass(frozen=True)
class SkillTotals:
    skill: str
    invocations: int
    resolutions: int
    escalations: int


@dataclass(frozen=True)
class Dashboard:
    daily: list[DailyRow]
    skills: list[SkillRow]
    escalation_reasons: list[tuple[str, int]]
    currencies: list[str]

    @property
    def days(self) -> list[dt.date]:
        """Every reporting day from the first to the last of the mart (quiet days included, as zeros)."""
        present = {row.reporting_date for row in self.daily} | {row.reporting_date for row in self.skills}
        if not present:
            return []
        first, last = min(present), max(present)
        return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]

    @property
    def channels(self) -> list[str | None]:
        """Channels by conversations started (most first), then by name; a null channel last."""
        started = group(self.daily, lambda row: row.channel)
        return sorted(started, key=lambda channel: (channel is None, -Totals.of(started[channel]).conversations_started,
                                                    channel or ""))

    @property
    def totals(self) -> Totals:
        return Totals.of(self.daily)

    def totals_by_channel(self) -> dict[str | None, Totals]:
        by_channel = group(self.daily, lambda row: row.channel)
        return {channel: Totals.of(by_channel[channel]) for channel in self.channels}

    def totals_by_day(self, channel: object = ...) -> dict[dt.date, Totals]:
        """Per reporting day (every day of `days`), over all channels or one channel (None is a channel)."""
        rows = self.daily if channel is ... else [row for row in self.daily if row.channel == channel]
        by_day = group(rows, lambda row: row.reporting_date)
        return {day: Totals.of(by_day.get(day, [])) for day in self.days}

    def skill_totals(self) -> list[SkillTotals]:
        """Per skill over every day, by invocations (most first), then by name."""
        by_skill = group(self.skills, lambda row: row.skill)
        totals = [SkillTotals(skill, sum(r.invocations for r in rows), sum(r.resolutions for r in rows),
                              sum(r.escalations for r in rows)) for skill, rows in by_skill.items()]
        return sorted(totals, key=lambda item: (-item.invocations, item.skill))


def group(rows: Iterable[Any], key: Callable[[Any], Key]) -> dict[Key, list[Any]]:
    grouped: dict[Key, list[Any]] = {}
    for row in rows:
        grouped.setdefault(key(row), []).append(row)
    return grouped


def missing_relations(connection: Any) -> list[str]:
    existing = {f"{schema}.{name}" for schema, name in connection.execute(
        "select table_schema, table_name from information_schema.tables").fetchall()}
    return [relation for relation in REQUIRED_RELATIONS if relation not in existing]


def _select(connection: Any, relation: str, columns: Iterable[str], order_by: str) -> list[tuple[Any, ...]]:
    selected = ", ".join(columns)
    return connection.execute(f"select {selected} from {relation} order by {order_by}").fetchall()


def read_dashboard(connection: Any) -> Dashboard:
    """The dashboard's data from an open (read-only) DuckDB connection to a built warehouse."""
    daily_columns = [item.name for item in fields(DailyRow)]
    skill_columns = [item.name for item in fields(SkillRow)]
    daily = [DailyRow(*row) for row in _select(connection, DAILY_MART, daily_columns,
                                                "reporting_date, channel nulls last")]
    skills = [SkillRow(*row) for row in _select(connection, SKILL_MART, skill_columns, "reporting_date, skill")]
    reasons = connection.execute(
        f"select escalation_reason, count(*) from {ESCALATIONS_FACT} group by 1 order by 2 desc, 1").fetchall()
    currencies = [row[0] for row in connection.execute(
        f"select distinct currency from {ORDERS_FACT} where currency is not null order by 1").fetchall()]
    return Dashboard(daily=daily, skills=skills, escalation_reasons=[(str(r), int(n)) for r, n in reasons],
                     currencies=currencies)
