"""Issue #12 (Pictures): the dashboard report opened in a real headless Chromium.

One real `dbt build` of the dashboard marts on a generated raw zone (600 conversations over 14 days, seed 7),
then `ca-warehouse report` (the console script) writes the page and Debian's chromium (installed by
scripts/install_chromium.sh when missing) opens it over the DevTools protocol. The checks: the page asks the
network for nothing, every chart drew (SVG elements and data marks with a non-zero size, bar lengths
proportional to their values), and every number shown -- tiles, chart marks, tables -- equals the mart, read
here with SQL of its own (sums and ratios of summed parts). A full-page PNG is kept in the test's tmp folder.
"""

from __future__ import annotations

import datetime as dt
import struct
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from customer_agent_warehouse.generate import generate_raw_zone
from customer_agent_warehouse.money import money_ratio, shown_money
from customer_agent_warehouse.report.page import ALL_CHANNELS, NO_CHANNEL
from tests.python.chromium import HeadlessChromium, chromium_executable
from tests.python.warehouse import PROJECT_ROOT, Warehouse

pytestmark = pytest.mark.slow

CHARTS = ("started_by_channel", "resolved_escalated", "resolution_rate", "escalation_reasons", "sales_by_channel",
          "average_order_value", "skills")
DAILY = "marts.agg_customer_agent_daily"
SKILLS = "marts.agg_skill_performance"
TOTALS_SQL = """
select {key}
    sum(conversations_started), sum(conversations_resolved_by_agent), sum(conversations_escalated),
    sum(started_conversations_resolved_by_agent),
    sum(started_conversations_resolved_by_agent) / nullif(sum(conversations_started), 0),
    sum(recommendations), sum(products_recommended), sum(attributed_orders), sum(ai_generated_sales),
    null -- average_order_value: measures() applies the money rule to the sums
from marts.agg_customer_agent_daily {group}
"""
MEASURES = ("conversations_started", "conversations_resolved_by_agent", "conversations_escalated",
            "started_conversations_resolved_by_agent", "resolution_rate", "recommendations", "products_recommended",
            "attributed_orders", "ai_generated_sales", "average_order_value")
RATES = {"resolution_rate"}
MONEY = {"ai_generated_sales", "average_order_value"}
PAGE_DATA_JS = """
(() => {
  const size = element => {
    const box = element.getBoundingClientRect();
    return {width: box.width, height: box.height};
  };
  const text = element => element.textContent.trim();
  return {
    charts: [...document.querySelectorAll('svg.chart')].map(svg => ({
      id: svg.dataset.chart, ...size(svg),
      lines: [...svg.querySelectorAll('path.line')].map(size),
      marks: [...svg.querySelectorAll('.mark')].map(mark => ({
        series: mark.dataset.series, category: mark.dataset.category, value: mark.dataset.value,
        title: text(mark.querySelector('title')), ...size(mark)})),
    })),
    kpis: Object.fromEntries([...document.querySelectorAll('[data-kpi]')].map(
      kpi => [kpi.dataset.kpi, text(kpi.querySelector('.kpi-value'))])),
    tables: Object.fromEntries([...document.querySelectorAll('table[data-table]')].map(table => [table.dataset.table,
      [...table.querySelectorAll('tr[data-row]')].map(row => Object.fromEntries(
        [...row.querySelectorAll('td[data-field]')].map(cell => [cell.dataset.field, text(cell)])))])),
  };
})()
"""


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    warehouse = Warehouse(root=tmp_path_factory.mktemp("report"))
    # A fixed fortnight (never relative to today): the same sample, page and figures on every day.
    generate_raw_zone(warehouse.raw, conversations=600, seed=7, start_date=dt.date(2026, 11, 1), days=14, workers=1)
    warehouse.build("--select", "+agg_customer_agent_daily +agg_skill_performance", "--indirect-selection",
                    "buildable")
    return warehouse


@pytest.fixture(scope="module")
def report(built: Warehouse) -> Path:
    out = built.root / "reports" / "dashboard.html"
    result = subprocess.run([str(Path(sys.executable).parent / "ca-warehouse"), "report", "--out", str(out)],
                            cwd=PROJECT_ROOT, env=built.env(), capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().startswith(f"report: dashboard {out} (") and not result.stderr
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> HeadlessChromium:
    try:
        executable = chromium_executable()
    except RuntimeError as error:
        pytest.fail(f"headless Chromium is needed for the report tests: {error}")
    with HeadlessChromium(executable, tmp_path_factory.mktemp("chromium-profile")) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def page(browser: HeadlessChromium, report: Path) -> dict[str, Any]:
    browser.open(report.as_uri())
    data = browser.evaluate(PAGE_DATA_JS)
    data["requests"] = list(browser.requests)
    return data


# ------------------------------------------------------------------------------------------------ helpers
def number(text: str) -> Decimal | None:
    """A figure as the page shows it ("1,234", "15,005.75", "46.9%", "n/a") as a number."""
    cleaned = text.replace(",", "").removesuffix("%")
    return None if cleaned == "n/a" else Decimal(cleaned)


def measures(values: tuple[Any, ...]) -> dict[str, Any]:
    """A TOTALS_SQL row by measure; the average order value of the sums by the money rule."""
    row = dict(zip(MEASURES, values, strict=True))
    return row | {"average_order_value": money_ratio(row["ai_generated_sales"], row["attributed_orders"])}


def assert_shown(field: str, text: str, expected: Any) -> None:
    """The text equals the mart's value as shown: counts exact, money by the money rule, rates to 0.1 %."""
    shown = number(text)
    if expected is None:
        assert shown is None, f"{field}: page {text!r}, mart null"
        return
    assert shown is not None, f"{field}: page {text!r}, mart {expected}"
    if field in RATES:
        assert abs(shown - Decimal(str(expected)) * 100) <= Decimal("0.05"), (field, text, expected)
    elif field in MONEY:
        assert shown == shown_money(expected), (field, text, expected)
    else:
        assert shown == expected, (field, text, expected)


def chart(page: dict[str, Any], chart_id: str) -> dict[str, Any]:
    (found,) = [item for item in page["charts"] if item["id"] == chart_id]
    return found


def channel(value: str | None) -> str:
    return NO_CHANNEL if value is None else value


# ------------------------------------------------------------------------------------------------ tests
def test_the_page_loads_nothing_from_the_network(page: dict[str, Any], report: Path) -> None:
    assert page["requests"] == [report.as_uri()]
    html = report.read_text()
    assert "http://" not in html and "https://" not in html and "<script" not in html


def test_every_chart_drew(page: dict[str, Any], built: Warehouse) -> None:
    assert [item["id"] for item in page["charts"]] == list(CHARTS)
    for item in page["charts"]:
        assert item["width"] > 300 and item["height"] > 80, item["id"]
        drawn = [mark for mark in item["marks"] if mark["width"] > 0 and mark["height"] > 0]
        assert len(drawn) == len(item["marks"]) > 0, f"{item['id']}: marks without a size"
        assert all(line["width"] > 100 for line in item["lines"]), item["id"]
    days = built.query(f"select count(distinct reporting_date) from {DAILY} where conversations_started > 0")[0][0]
    assert len(chart(page, "resolution_rate")["marks"]) == days
    assert len(chart(page, "resolved_escalated")["lines"]) == 2


@pytest.mark.parametrize(("chart_id", "measure"), [("started_by_channel", "conversations_started"),
                                                   ("sales_by_channel", "ai_generated_sales")])
def test_stacked_columns_are_the_mart_rows_drawn_to_scale(page: dict[str, Any], built: Warehouse, chart_id: str,
                                                          measure: str) -> None:
    rows = built.query(f"select reporting_date, channel, {measure} from {DAILY} where {measure} > 0")
    expected = {(day.isoformat(), channel(name), Decimal(value)) for day, name, value in rows}
    marks = chart(page, chart_id)["marks"]
    assert {(mark["category"], mark["series"], Decimal(mark["value"])) for mark in marks} == expected
    scale = sum(mark["height"] for mark in marks) / float(sum(value for *_, value in expected))
    for mark in marks:
        assert abs(mark["height"] - float(mark["value"]) * scale) <= 0.25, mark


def test_lines_and_bars_are_the_mart_figures(page: dict[str, Any], built: Warehouse) -> None:
    rates = built.query(f"select reporting_date, sum(started_conversations_resolved_by_agent) / "
                        f"sum(conversations_started) from {DAILY} group by 1 having sum(conversations_started) > 0")
    points = {mark["category"]: float(mark["value"]) for mark in chart(page, "resolution_rate")["marks"]}
    assert points == pytest.approx({day.isoformat(): rate for day, rate in rates})

    aov = built.query(f"select reporting_date, sum(ai_generated_sales), sum(attributed_orders) from {DAILY} "
                      "group by 1 having sum(attributed_orders) > 0")
    points = {mark["category"]: Decimal(mark["value"]) for mark in chart(page, "average_order_value")["marks"]}
    assert points == {day.isoformat(): money_ratio(sales, orders) for day, sales, orders in aov}

    skills = built.query(f"select skill, sum(invocations), sum(resolutions), sum(escalations) from {SKILLS} "
                         "group by 1")
    bars = {(mark["category"], mark["series"]): int(mark["value"]) for mark in chart(page, "skills")["marks"]}
    assert bars == {(skill, series): value for skill, *values in skills
                    for series, value in zip(("invocations", "resolutions", "escalations"), values, strict=True)}
    longest = max(chart(page, "skills")["marks"], key=lambda mark: mark["width"])
    assert int(longest["value"]) == max(row[1] for row in skills)

    reasons = built.query("select escalation_reason, count(*) from marts.fct_conversation_escalated group by 1")
    bars = {mark["category"]: int(mark["value"]) for mark in chart(page, "escalation_reasons")["marks"]}
    assert bars == dict(reasons) and sum(bars.values()) > 0


def test_tiles_equal_the_mart_totals(page: dict[str, Any], built: Warehouse) -> None:
    (totals,) = built.query(TOTALS_SQL.format(key="", group=""))
    expected = measures(totals)
    assert expected["conversations_started"] > 0 and expected["attributed_orders"] > 0
    shown = page["kpis"]
    assert set(shown) == set(MEASURES) - {"started_conversations_resolved_by_agent", "products_recommended"}
    for field, text in shown.items():
        assert_shown(field, text, expected[field])


def test_tables_equal_the_mart(page: dict[str, Any], built: Warehouse) -> None:
    by_channel = {channel(key): measures(values)
                  for key, *values in built.query(TOTALS_SQL.format(key="channel,", group="group by channel"))}
    by_channel[ALL_CHANNELS] = measures(built.query(TOTALS_SQL.format(key="", group=""))[0])
    for name in ("resolution_by_channel", "revenue_by_channel"):
        rows = page["tables"][name]
        assert [row["channel"] for row in rows][-1] == ALL_CHANNELS and len(rows) == len(by_channel)
        for row in rows:
            for field, text in row.items():
                if field != "channel":
                    assert_shown(field, text, by_channel[row["channel"]][field])

    mart = built.query(f"select reporting_date, channel, {', '.join(MEASURES)} from {DAILY} "
                       "order by reporting_date, channel nulls last")
    rows = page["tables"]["daily"]
    assert [(row["reporting_date"], row["channel"]) for row in rows] == [
        (day.isoformat(), channel(name)) for day, name, *_ in mart]
    for row, (_, _, *values) in zip(rows, mart, strict=True):
        for field, value in zip(MEASURES, values, strict=True):
            assert_shown(field, row[field], value)

    skill_rows = built.query(f"select reporting_date, skill, invocations, conversations, resolutions, escalations "
                             f"from {SKILLS} order by reporting_date, skill")
    assert [tuple(row.values()) for row in page["tables"]["skill_daily"]] == [
        (day.isoformat(), skill, *(f"{value:,}" for value in values)) for day, skill, *values in skill_rows]
    totals = built.query(f"select skill, sum(invocations), sum(resolutions), sum(escalations) from {SKILLS} "
                         "group by 1 order by 2 desc, 1")
    assert [tuple(row.values()) for row in page["tables"]["skills"]] == [
        (skill, *(f"{value:,}" for value in values)) for skill, *values in totals]


def test_a_full_page_screenshot(browser: HeadlessChromium, page: dict[str, Any], report: Path) -> None:
    png = browser.screenshot(report.with_suffix(".png"))
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width == browser.width and height > 2000, (width, height)
    assert png.stat().st_size > 100_000  # a blank page compresses to a few kB
