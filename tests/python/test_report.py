"""Issue #12 (Pictures): `report` when the warehouse cannot give a dashboard, and the page of empty marts.

Real DuckDB files, no dbt: a missing file, a file without the marts, a file locked by another process, an
unwritable output, and marts with no rows (the page says so and still renders); and the dbt exposures list what
the report reads and every metric. The page drawn from a real `dbt build` is checked in a browser by
test_report_browser.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from customer_agent_warehouse.cli import main
from customer_agent_warehouse.money import money_ratio
from customer_agent_warehouse.report import write_report
from customer_agent_warehouse.report.charts import nice_scale
from customer_agent_warehouse.report.data import REQUIRED_RELATIONS
from tests.python.warehouse import PROJECT_ROOT

EMPTY_MARTS_SQL = """
create schema marts;
create table marts.agg_customer_agent_daily (
    reporting_date date, channel varchar, conversations_started integer, conversations_resolved_by_agent integer,
    conversations_escalated integer, started_conversations_resolved_by_agent integer, resolution_rate double,
    recommendations integer, products_recommended integer, attributed_orders integer,
    ai_generated_sales decimal(38, 4), average_order_value decimal(18, 4));
create table marts.agg_skill_performance (
    reporting_date date, skill varchar, invocations integer, conversations integer, resolutions integer,
    escalations integer);
create table marts.fct_conversation_escalated (escalation_reason varchar);
create table marts.fct_attributed_orders (currency varchar);
"""


def run_report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture
def empty_marts(tmp_path: Path) -> Path:
    path = tmp_path / "empty.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(EMPTY_MARTS_SQL)
    return path


def test_missing_warehouse_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.duckdb"
    code, out, err = run_report(capsys, "--duckdb-path", str(missing), "--out", str(tmp_path / "d.html"))
    assert code == 2 and not out
    assert one_line(err).startswith(f"report: no warehouse at {missing}: run `python -m customer_agent_warehouse")
    assert not (tmp_path / "d.html").exists()


def test_warehouse_without_the_marts_is_not_built(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "unbuilt.duckdb"
    duckdb.connect(str(path)).close()
    code, _, err = run_report(capsys, "--duckdb-path", str(path), "--out", str(tmp_path / "d.html"))
    assert code == 2
    line = one_line(err)
    assert all(relation in line for relation in REQUIRED_RELATIONS) and "not built" in line and str(path) in line


def test_warehouse_locked_by_a_build_is_exit_2(empty_marts: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('locked', flush=True); sys.stdin.read()", str(empty_marts)],  # held until killed
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        code, _, err = run_report(capsys, "--duckdb-path", str(empty_marts), "--out", str(tmp_path / "d.html"))
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    assert one_line(err).startswith(f"report: {empty_marts} is locked by another process")


def test_unwritable_output_is_exit_2(empty_marts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = run_report(capsys, "--duckdb-path", str(empty_marts), "--out", str(blocker / "d.html"))
    assert code == 2
    assert one_line(err).startswith(f"report: cannot write {blocker / 'd.html'}") and "--out" in err


def test_the_warehouse_is_opened_read_only(empty_marts: Path, tmp_path: Path) -> None:
    before = (empty_marts.read_bytes(), empty_marts.stat().st_mtime_ns)
    write_report(empty_marts, tmp_path / "d.html")
    assert (empty_marts.read_bytes(), empty_marts.stat().st_mtime_ns) == before
    assert not list(tmp_path.glob("*.wal"))


def test_empty_marts_give_a_page_that_says_so(empty_marts: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports" / "dashboard.html"
    code, stdout, err = run_report(capsys, "--duckdb-path", str(empty_marts), "--out", str(out))
    assert code == 0 and not err
    assert one_line(stdout) == f"report: dashboard {out} (no data yet; 0 day x channel rows, 0 day x skill rows)"
    html = out.read_text()
    assert "The marts are empty" in html and html.count("No data in the mart") == 7
    assert not list(out.parent.glob(".*.tmp")), "the temporary file was renamed into place"


def test_the_default_warehouse_is_the_serving_copy_else_the_build_file(empty_marts: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    serving = tmp_path / "published" / "copy.duckdb"
    monkeypatch.setenv("CA_DUCKDB_PATH", str(empty_marts))
    monkeypatch.setenv("CA_DUCKDB_SERVING_PATH", str(serving))
    code, out, _ = run_report(capsys, "--out", str(tmp_path / "d.html"))
    assert code == 0 and str(tmp_path / "d.html") in out
    assert str(empty_marts) in (tmp_path / "d.html").read_text(), "nothing published: the build file"
    serving.parent.mkdir()
    shutil.copy2(empty_marts, serving)
    code, out, _ = run_report(capsys, "--out", str(tmp_path / "s.html"))
    assert code == 0 and str(serving) in (tmp_path / "s.html").read_text(), "the serving copy once published"


HALF_WAY_ROWS_SQL = """
insert into marts.agg_customer_agent_daily values
    ('2026-11-20', 'email', 1, 0, 0, 0, 0.0, 0, 0, 2, 425.8100, 212.9050),
    ('2026-11-20', 'sms', 1, 0, 0, 0, 0.0, 0, 0, 1, 212.9050, 212.9050);
"""


def test_money_is_shown_by_the_money_rule(empty_marts: Path, tmp_path: Path) -> None:
    """212.905 is shown 212.91 (half away from zero), in the rows and in the tile recomputed from the sums
    (638.7150 / 3 = 212.905); a page that rounds half-even (Python's default) would show 212.90."""
    with duckdb.connect(str(empty_marts)) as connection:
        connection.execute(HALF_WAY_ROWS_SQL)
    out = tmp_path / "money.html"
    write_report(empty_marts, out)
    html = out.read_text()
    (tile,) = re.findall(r'data-kpi="average_order_value">.*?<div class="kpi-value">([^<]*)</div>', html)
    cells = re.findall(r'<td data-field="average_order_value" class="num">([^<]*)</td>', html)
    assert tile == "212.91" and len(cells) >= 3 and set(cells) == {"212.91"}, (tile, cells)
    assert money_ratio(Decimal("638.7150"), 3) == Decimal("212.9050")


@pytest.mark.parametrize(("largest", "ticks"), [
    (0, [0.0, 1.0]), (1, [0.0, 0.25, 0.5, 0.75, 1.0]), (7, [0.0, 2.0, 4.0, 6.0, 8.0]),
    (60, [0.0, 20.0, 40.0, 60.0]), (2950.5, [0.0, 1000.0, 2000.0, 3000.0]), (100, [0.0, 25.0, 50.0, 75.0, 100.0]),
])
def test_axis_ticks_are_round_and_cover_the_largest_value(largest: float, ticks: list[float]) -> None:
    assert nice_scale(largest) == ticks


def _exposures() -> dict[str, dict]:
    document = yaml.safe_load((PROJECT_ROOT / "models" / "_exposures.yml").read_text())
    return {exposure["name"]: exposure for exposure in document["exposures"]}


def test_the_dashboard_exposure_lists_what_the_report_reads() -> None:
    exposures = _exposures()
    assert all(exposure["owner"]["name"] and "@" in exposure["owner"]["email"] for exposure in exposures.values())
    dashboard = exposures["customer_agent_performance_dashboard"]
    assert dashboard["depends_on"] == [f"ref('{relation.split('.')[1]}')" for relation in REQUIRED_RELATIONS]


def test_the_semantic_layer_exposure_lists_every_metric() -> None:
    semantic = yaml.safe_load((PROJECT_ROOT / "models" / "marts" / "performance" /
                               "_performance__semantic_models.yml").read_text())
    metrics = [f"metric('{metric['name']}')" for metric in semantic["metrics"]]
    assert _exposures()["customer_agent_semantic_layer"]["depends_on"] == metrics
