"""The dashboard page: one self-contained HTML file (inline CSS and SVG, no script, no remote asset).

Spec §9's two lenses, then skills, then the marts' rows themselves:

* Resolution -- is the agent doing the job? conversations started, resolved by the agent, escalated, the cohort
  resolution rate, per day and channel; escalation reasons.
* Revenue -- is it driving sales? product recommendations, attributed orders, AI-generated sales, average order
  value, per day and channel.
* Skills -- invocations, resolutions and escalations per skill.

Every figure is a cell or tile with `data-field` / `data-kpi`, so a test (or a scraper) can read it back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from customer_agent_warehouse.money import shown_money
from customer_agent_warehouse.report.charts import Number, Series, bar_chart, column_chart, line_chart, palette
from customer_agent_warehouse.report.data import DAILY_MART, SKILL_MART, Dashboard

NO_CHANNEL = "(no channel)"
ALL_CHANNELS = "All channels"
DASH = "n/a"


# --- formats: one per kind of number, used by tiles, tables, tooltips and axes ------------------------------------
def count(value: Number | None) -> str:
    return DASH if value is None else f"{int(value):,}"


def money(value: Number | None) -> str:
    """The money rule's shown value (customer_agent_warehouse.money): half away from zero, never float."""
    return DASH if value is None else f"{shown_money(Decimal(value)):,}"


def rate(value: Number | None) -> str:
    return DASH if value is None else f"{float(value) * 100:.1f}%"


def whole_percent(value: Number) -> str:
    return f"{float(value) * 100:.0f}%"


def money_tick(value: Number) -> str:
    return f"{float(value):,.0f}"


def channel_name(channel: str | None) -> str:
    return NO_CHANNEL if channel is None else channel


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    format: Callable[[Any], str]


DAILY_COLUMNS = (
    Column("conversations_started", "Started", count),
    Column("conversations_resolved_by_agent", "Resolved by agent", count),
    Column("conversations_escalated", "Escalated", count),
    Column("started_conversations_resolved_by_agent", "Started & resolved by agent", count),
    Column("resolution_rate", "Resolution rate", rate),
    Column("recommendations", "Recommendations", count),
    Column("products_recommended", "Products recommended", count),
    Column("attributed_orders", "Attributed orders", count),
    Column("ai_generated_sales", "AI-generated sales", money),
    Column("average_order_value", "Average order value", money),
)
RESOLUTION_COLUMNS = DAILY_COLUMNS[:5]
REVENUE_COLUMNS = DAILY_COLUMNS[5:]
SKILL_COLUMNS = (
    Column("invocations", "Invocations", count),
    Column("conversations", "Conversations", count),
    Column("resolutions", "Resolutions", count),
    Column("escalations", "Escalations", count),
)
SKILL_TOTAL_COLUMNS = tuple(column for column in SKILL_COLUMNS if column.field != "conversations")


# --- building blocks ---------------------------------------------------------------------------------------------
KeyCells = Sequence[tuple[str, str]]  # a row's key cells: (field, text)


def _row(key: KeyCells, row: Any, columns: Sequence[Column]) -> str:
    cells = [f'<td data-field="{field}">{escape(text)}</td>' for field, text in key]
    cells += [f'<td data-field="{column.field}" class="num">{escape(column.format(getattr(row, column.field)))}</td>'
              for column in columns]
    return f"<tr data-row>{''.join(cells)}</tr>"


def table(name: str, key_headers: Sequence[str], rows: Sequence[tuple[KeyCells, Any]], columns: Sequence[Column],
          total: tuple[KeyCells, Any] | None = None) -> str:
    """A table of (key cells, row object) pairs; the columns read the row object's attributes."""
    head = "".join(f"<th>{escape(header)}</th>" for header in key_headers)
    head += "".join(f'<th class="num">{escape(column.header)}</th>' for column in columns)
    body = "".join(_row(key, row, columns) for key, row in rows)
    foot = f'<tfoot class="total">{_row(*total, columns)}</tfoot>' if total else ""
    return f'<table data-table="{name}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table>'


def tile(name: str, label: str, value: str, note: str = "") -> str:
    note_html = f'<div class="kpi-note">{escape(note)}</div>' if note else ""
    return (f'<div class="kpi" data-kpi="{name}"><div class="kpi-label">{escape(label)}</div>'
            f'<div class="kpi-value">{escape(value)}</div>{note_html}</div>')


def card(title: str, svg: str, note: str = "") -> str:
    note_html = f'<p class="note">{escape(note)}</p>' if note else ""
    return f'<figure class="card"><figcaption>{escape(title)}</figcaption>{svg}{note_html}</figure>'


# --- sections ----------------------------------------------------------------------------------------------------
def _day_axis(dashboard: Dashboard) -> tuple[list[str], list[str]]:
    days = dashboard.days
    one_year = len({day.year for day in days}) <= 1
    return [day.isoformat() for day in days], [day.strftime("%m-%d" if one_year else "%Y-%m-%d") for day in days]


def _per_channel(dashboard: Dashboard, measure: str) -> list[Series]:
    series = []
    for index, channel in enumerate(dashboard.channels):
        by_day = dashboard.totals_by_day(channel)
        series.append(Series(channel_name(channel), [getattr(by_day[day], measure) for day in dashboard.days],
                             palette(index)))
    return series


def _channel_table(name: str, dashboard: Dashboard, columns: Sequence[Column]) -> str:
    rows = [([("channel", channel_name(channel))], totals) for channel, totals in dashboard.totals_by_channel().items()]
    return table(name, ["Channel"], rows, columns, total=([("channel", ALL_CHANNELS)], dashboard.totals))


def resolution_section(dashboard: Dashboard) -> str:
    totals, (categories, labels) = dashboard.totals, _day_axis(dashboard)
    by_day = dashboard.totals_by_day()
    daily = [by_day[day] for day in dashboard.days]
    tiles = "".join([
        tile("conversations_started", "Conversations started", count(totals.conversations_started)),
        tile("conversations_resolved_by_agent", "Resolved by the agent",
             count(totals.conversations_resolved_by_agent), "conversations with a resolution that day, summed"),
        tile("conversations_escalated", "Escalated to a human", count(totals.conversations_escalated),
             "conversations with an escalation that day, summed"),
        tile("resolution_rate", "Resolution rate", rate(totals.resolution_rate),
             "of the conversations started, share resolved by the agent"),
    ])
    reasons = dashboard.escalation_reasons
    charts = "".join([
        card("Conversations started per day, by channel",
             column_chart("started_by_channel", "Conversations started per day", categories, labels,
                          _per_channel(dashboard, "conversations_started"), count, count)),
        card("Resolved by the agent and escalated, per day",
             line_chart("resolved_escalated", "Resolved and escalated per day", categories, labels, [
                 Series("resolved by agent", [row.conversations_resolved_by_agent for row in daily], "#2e7d32"),
                 Series("escalated", [row.conversations_escalated for row in daily], "#c62828"),
             ], count, count)),
        card("Resolution rate of the conversations started each day",
             line_chart("resolution_rate", "Resolution rate per day", categories, labels,
                        [Series("resolution rate", [row.resolution_rate for row in daily], "#4e79a7")],
                        rate, whole_percent, top_value=1.0),
             "Cohort rate: a conversation counts on the day it started, whenever the agent resolved it."),
        card("Escalation reasons (all days)",
             bar_chart("escalation_reasons", "Escalation reasons", [reason for reason, _ in reasons],
                       [Series("escalations", [number for _, number in reasons], "#c62828")], count)),
    ])
    return (f'<section id="resolution"><h2>Resolution: is the agent doing the job?</h2>'
            f'<div class="kpis">{tiles}</div><div class="charts">{charts}</div>'
            f'{_channel_table("resolution_by_channel", dashboard, RESOLUTION_COLUMNS)}</section>')


def revenue_section(dashboard: Dashboard) -> str:
    totals, (categories, labels) = dashboard.totals, _day_axis(dashboard)
    by_day = dashboard.totals_by_day()
    tiles = "".join([
        tile("recommendations", "Product recommendations", count(totals.recommendations),
             f"{count(totals.products_recommended)} products recommended"),
        tile("attributed_orders", "Attributed orders", count(totals.attributed_orders),
             "orders placed within the attribution window after an agent touch"),
        tile("ai_generated_sales", "AI-generated sales", money(totals.ai_generated_sales), _currency_note(dashboard)),
        tile("average_order_value", "Average order value", money(totals.average_order_value),
             "AI-generated sales / attributed orders"),
    ])
    charts = "".join([
        card("AI-generated sales per day, by channel",
             column_chart("sales_by_channel", "AI-generated sales per day", categories, labels,
                          _per_channel(dashboard, "ai_generated_sales"), money, money_tick)),
        card("Average order value per day",
             line_chart("average_order_value", "Average order value per day", categories, labels,
                        [Series("average order value", [by_day[day].average_order_value for day in dashboard.days],
                                "#b07aa1")], money, money_tick),
             "No point on a day without attributed orders."),
    ])
    return (f'<section id="revenue"><h2>Revenue: is it driving sales?</h2>'
            f'<div class="kpis">{tiles}</div><div class="charts">{charts}</div>'
            f'{_channel_table("revenue_by_channel", dashboard, REVENUE_COLUMNS)}</section>')


def _currency_note(dashboard: Dashboard) -> str:
    if not dashboard.currencies:
        return "order values as delivered"
    if len(dashboard.currencies) == 1:
        return f"in {dashboard.currencies[0]}"
    return f"values summed as delivered, not converted: {', '.join(dashboard.currencies)}"


def skills_section(dashboard: Dashboard) -> str:
    skills = dashboard.skill_totals()
    labels = [item.skill for item in skills]
    chart = bar_chart("skills", "Skills", labels, [
        Series("invocations", [item.invocations for item in skills], "#4e79a7"),
        Series("resolutions", [item.resolutions for item in skills], "#2e7d32"),
        Series("escalations", [item.escalations for item in skills], "#c62828"),
    ], count)
    skill_table = table("skills", ["Skill"], [([("skill", item.skill)], item) for item in skills],
                        SKILL_TOTAL_COLUMNS)
    chart_card = card("Invocations, resolutions and escalations per skill (all days)", chart,
                      "A resolution counts under its final skill, an escalation under the skill active then.")
    return (f'<section id="skills"><h2>Skills: which procedures resolve, which escalate?</h2>'
            f'<div class="charts">{chart_card}<div>{skill_table}</div></div></section>')


def _details(relation: str, grain: str, rows: int, table_html: str) -> str:
    return (f"<details><summary><code>{relation}</code>: {rows:,} rows (day &times; {grain})</summary>"
            f"{table_html}</details>")


def detail_section(dashboard: Dashboard) -> str:
    daily_rows = [([("reporting_date", row.reporting_date.isoformat()), ("channel", channel_name(row.channel))], row)
                  for row in dashboard.daily]
    skill_rows = [([("reporting_date", row.reporting_date.isoformat()), ("skill", row.skill)], row)
                  for row in dashboard.skills]
    daily = _details(DAILY_MART, "channel", len(daily_rows), table("daily", ["Day", "Channel"], daily_rows,
                                                                   DAILY_COLUMNS))
    skills = _details(SKILL_MART, "skill", len(skill_rows), table("skill_daily", ["Day", "Skill"], skill_rows,
                                                                  SKILL_COLUMNS))
    return f'<section id="detail"><h2>The marts, row by row</h2>{daily}{skills}</section>'


def render(dashboard: Dashboard, warehouse: Path, generated_at: dt.datetime) -> str:
    days = dashboard.days
    period = f"{days[0].isoformat()} to {days[-1].isoformat()} ({len(days)} reporting days)" if days else "no data"
    empty = "" if days else ('<p class="banner">The marts are empty: build the warehouse from a raw zone with '
                             "data, then run the report again.</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer Agent performance</title>
<style>{STYLE}</style></head><body>
<header><h1>Customer Agent performance</h1>
<p class="meta">Reporting days {escape(period)} · warehouse <code>{escape(str(warehouse))}</code> ·
generated {escape(generated_at.strftime("%Y-%m-%d %H:%M"))} UTC</p></header>
{empty}{resolution_section(dashboard)}{revenue_section(dashboard)}{skills_section(dashboard)}{detail_section(dashboard)}
<footer>Figures are the rows of <code>{DAILY_MART}</code> and <code>{SKILL_MART}</code> (days in the build's
<code>reporting_timezone</code>), escalation reasons from <code>marts.fct_conversation_escalated</code>. Totals add
the rows; a rate over several rows is recomputed from the summed numerator and denominator, never averaged.</footer>
</body></html>
"""


STYLE = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --card: #fff; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans",
  sans-serif; color: var(--ink); background: var(--bg); }
h1 { margin: 0 0 4px; font-size: 24px; } h2 { margin: 28px 0 12px; font-size: 18px; }
.meta, footer, .note, caption { color: var(--muted); font-size: 12px; }
footer { margin-top: 32px; }
.banner { padding: 8px 12px; background: #fff4e5; border: 1px solid #f0c36d; border-radius: 6px; }
.kpis { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; margin-bottom: 12px; }
.kpi, .card, table { background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
.kpi { padding: 12px 16px; }
.kpi-label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.kpi-value { font-size: 28px; font-weight: 600; margin: 2px 0; font-variant-numeric: tabular-nums; }
.kpi-note { color: var(--muted); font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 12px; margin-bottom: 12px; }
.card { margin: 0; padding: 12px 16px; }
figcaption { font-weight: 600; margin-bottom: 6px; }
svg.chart { display: block; width: 100%; height: auto; font-size: 11px; }
svg .grid { stroke: var(--line); } svg .axis { stroke: #9aa5b1; }
svg .tick, svg .value, svg .label { fill: var(--muted); } svg .label { fill: var(--ink); }
svg .line { fill: none; stroke-width: 2; } svg .mark:hover { opacity: .75; }
svg .empty { fill: var(--muted); font-size: 14px; }
table { border-collapse: separate; border-spacing: 0; width: 100%; margin-bottom: 12px; overflow: hidden; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { background: #f0f4f8; font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:last-child td { border-bottom: 0; }
tfoot td { font-weight: 600; border-top: 2px solid var(--line); border-bottom: 0; background: #f8fafc; }
details { margin-bottom: 12px; } summary { cursor: pointer; margin-bottom: 8px; }
@media (max-width: 900px) { .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); } body { padding: 16px; } }
"""
