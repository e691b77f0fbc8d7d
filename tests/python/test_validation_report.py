"""Issue #12 (Pictures): the validation report folder works offline and links every suite's own page.

A real DuckDB warehouse made by SQL (test_validate.build_sample_warehouse: every validated table, spec-conformant)
with one tampered row, so one suite fails; `validate` writes reports/validation/ as a user runs it. The checks: no
page refers to anything over http(s), every link and asset resolves to a file of the folder, the index links each
suite's page, each page shows every expectation of its results JSON (failures with their bad values), and headless
Chromium opens the pages with no network request and draws their tables.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from customer_agent_warehouse.cli import main
from tests.python.chromium import HeadlessChromium, chromium_executable
from tests.python.test_validate import SUITES, build_sample_warehouse, tamper

LINK_ATTRIBUTES = {"href", "src", "srcset", "poster", "data", "action", "background"}
ROWS_JS = """[...document.querySelectorAll('table tr')].filter(row => row.getBoundingClientRect().height > 0)
  .length"""


class Links(HTMLParser):
    """Every URL an HTML page refers to: link attributes, and url(...) / @import in inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in LINK_ATTRIBUTES and value:
                self.urls.append(value)
            if name == "style" and value:
                self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", value)

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", data) + re.findall(r"@import\s+['\"]([^'\"]+)", data)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False


def links_of(page: Path) -> Links:
    parser = Links()
    parser.feed(page.read_text())
    return parser


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("validation_report")
    warehouse = build_sample_warehouse(folder / "warehouse.duckdb")
    tamper(warehouse, "UPDATE marts.fct_conversation_started SET channel = 'fax' WHERE event_id = 'started-conv-2'")
    report = folder / "reports" / "validation"
    assert main(["validate", "--duckdb-path", str(warehouse), "--report-dir", str(report)]) == 1
    return report


def test_no_page_refers_to_the_network_and_every_link_resolves(report: Path) -> None:
    pages = sorted(report.rglob("*.html"))
    assert len(pages) == len(SUITES) + 1
    for page in pages:
        text = page.read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, page
        parsed = links_of(page)
        assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags, page
        assert parsed.urls, f"{page} links nothing"
        for url in parsed.urls:
            parts = urlparse(url)
            assert not parts.scheme and not parts.netloc, f"{page}: {url}"
            if parts.path:
                target = (page.parent / unquote(parts.path)).resolve()
                assert target.is_file() and report in target.parents, f"{page}: {url} -> {target}"


def test_the_index_links_each_suite_page(report: Path) -> None:
    linked = {url for url in links_of(report / "index.html").urls if url.endswith(".html")}
    assert linked == {f"suites/{name}.html" for name in SUITES}
    summary = json.loads((report / "results.json").read_text())
    for suite in summary["suites"]:
        assert Path(suite["page_path"]) == report / "suites" / f"{suite['name']}.html"
        page_links = links_of(report / "suites" / f"{suite['name']}.html").urls
        assert "../index.html" in page_links and f"{suite['name']}.json" in page_links


def test_each_suite_page_shows_every_expectation_of_its_results(report: Path) -> None:
    for name in SUITES:
        document = json.loads((report / "suites" / f"{name}.json").read_text())
        page = (report / "suites" / f"{name}.html").read_text()
        statuses = re.findall(r'<tr class="(pass|fail)"><td>(PASS|FAIL)</td>', page)
        assert [status for status, _ in statuses] == [
            "pass" if item["success"] else "fail" for item in document["results"]], name
        for item in document["results"]:
            assert item["expectation_config"]["type"] in page
        state = "PASS" if document["success"] else "FAIL"
        passed = document["statistics"]["successful_expectations"]
        assert f"{state}: {passed}/{len(document['results'])} expectations passed" in page


def test_a_failing_suite_page_names_the_column_and_the_bad_value(report: Path) -> None:
    page = (report / "suites" / "fct_conversation_started.html").read_text()
    assert "FAIL: " in page and "<h2>Failing expectations</h2>" in page
    failing = re.findall(r'<tr class="fail">.*?</tr>', page, flags=re.S)
    (in_set,) = [row for row in failing if "expect_column_values_to_be_in_set" in row]
    assert "<code>channel</code>" in in_set and "&quot;fax&quot;" in in_set and "unexpected_count: <code>1" in in_set
    index = (report / "index.html").read_text()
    assert '<a href="suites/fct_conversation_started.html">fct_conversation_started</a>' in index


def test_gx_data_docs_only_on_request(report: Path, tmp_path: Path) -> None:
    assert not (report / "data_docs").exists()
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(report.parent.parent / "warehouse.duckdb", warehouse)
    other = tmp_path / "validation"
    code = main(["validate", "--duckdb-path", str(warehouse), "--report-dir", str(other), "--data-docs",
                 "--suite", "seg_escalated_recent"])
    assert code == 0 and (other / "data_docs" / "index.html").is_file()
    index = (other / "index.html").read_text()
    assert 'href="data_docs/index.html"' in index and "need the internet" in index


def test_pages_render_offline_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    try:
        executable = chromium_executable()
    except RuntimeError as error:
        pytest.fail(f"headless Chromium is needed for the report tests: {error}")
    with HeadlessChromium(executable, tmp_path / "profile") as browser:
        for page, rows in ((report / "index.html", len(SUITES) + 1),
                           (report / "suites" / "fct_conversation_started.html", 2)):
            browser.open(page.as_uri())
            assert browser.requests == [page.as_uri()]
            assert browser.evaluate(ROWS_JS) >= rows
            assert browser.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui")
