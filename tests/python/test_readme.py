"""The README stays a short overview whose picture and tables agree with the project: the layer diagram names
exactly the models of the project (what `dbt ls --resource-type model` lists), the command table every command of
the CLI, and the index every page of docs/ (each link resolving)."""

from __future__ import annotations

import re

from customer_agent_warehouse.cli import COMMANDS
from tests.python.warehouse import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
MAX_LINES = 300


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_the_readme_is_short_and_opens_with_the_two_commands() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_LINES
    assert lines[2:6] == ["```bash", lines[3], lines[4], "```"]
    assert lines[3].startswith("./run.sh ") and lines[4].startswith("./test.sh ")


def test_the_layer_diagram_names_every_model_and_nothing_else() -> None:
    diagram = re.search(r"```\n(.*?)```", section("How it fits together"), re.S).group(1)
    models = {path.stem for path in (PROJECT_ROOT / "models").rglob("*.sql")}
    named = set(re.findall(r"\b(?:base|stg|int|fct|dim|agg|seg)_[a-z_]+\b", diagram))
    named |= {name for name in ("ingestion_manifest", "raw_lines_classified", "rejected_records", "reconciliation",
                                "metricflow_time_spine") if name in diagram}
    assert named == models


def test_the_command_table_lists_every_command() -> None:
    table = section("Commands")
    listed = set(re.findall(r"^\| `([a-z]+)[ `]", table, re.M))
    assert listed == set(COMMANDS)


def test_the_index_lists_every_docs_page_and_every_link_resolves() -> None:
    text = README.read_text()
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert [link for link in links if not (PROJECT_ROOT / link).exists()] == []
    pages = {f"docs/{path.name}" for path in (PROJECT_ROOT / "docs").glob("*.md")}
    assert pages <= set(re.findall(r"\]\((docs/[^)#]+\.md)\)", section("Documentation")))


def test_docs_pages_link_only_to_files_that_exist() -> None:
    for page in (PROJECT_ROOT / "docs").glob("*.md"):
        for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / link).exists(), (page.name, link)
