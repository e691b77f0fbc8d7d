"""Issue 12: the documentation a maintainer and a BI tool see.

One real `dbt build` of a generated raw zone, then `dbt docs generate`: every model, seed and source of the
manifest has a description, every column the catalog found in the warehouse is described, and the
descriptions are the warehouse's table and column comments (`+persist_docs`), also in the serving copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from customer_agent_warehouse.serving import publish
from customer_agent_warehouse.settings import Settings
from tests.python.warehouse import PROJECT_ROOT, Warehouse

SCHEMAS = ("staging", "intermediate", "marts", "segments", "audit")


@dataclass
class Documented:
    warehouse: Warehouse
    manifest: dict[str, Any]
    catalog: dict[str, Any]

    def documented(self) -> dict[str, dict[str, Any]]:
        """Models, seeds and sources of the manifest by unique id."""
        nodes = {uid: node for uid, node in self.manifest["nodes"].items()
                 if node["resource_type"] in ("model", "seed")}
        return {**nodes, **self.manifest["sources"]}


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Documented:
    warehouse = Warehouse(tmp_path_factory.mktemp("docs"), vars={"raw_file_settle_seconds": 0})
    generated = warehouse.cli("generate", "--conversations", "60", "--seed", "5", "--days", "3", "--workers", "1",
                              "--quiet", "--out", str(warehouse.raw))
    assert generated.returncode == 0, generated.stderr
    warehouse.build()
    warehouse.dbt("docs", "generate")
    target = warehouse.root / "target"
    return Documented(warehouse, json.loads((target / "manifest.json").read_text()),
                      json.loads((target / "catalog.json").read_text()))


def _description(node: dict[str, Any]) -> str:
    return (node.get("description") or "").strip()


def _column_descriptions(node: dict[str, Any]) -> dict[str, str]:
    return {name.lower(): _description(column) for name, column in node["columns"].items()}


def test_every_model_seed_and_source_is_described(docs: Documented) -> None:
    nodes = docs.documented()
    models = {node["name"] for node in nodes.values() if node["resource_type"] == "model"}
    seeds = {node["name"] for node in nodes.values() if node["resource_type"] == "seed"}
    assert models == {path.stem for path in (PROJECT_ROOT / "models").rglob("*.sql")}
    assert seeds == {path.stem for path in (PROJECT_ROOT / "seeds").glob("*.csv")}
    assert {node["source_name"] for node in nodes.values() if node["resource_type"] == "source"} == {
        "conversation_logs", "orders", "profiles"}
    assert sorted(uid for uid, node in nodes.items() if not _description(node)) == []


def test_every_column_of_the_warehouse_is_described(docs: Documented) -> None:
    nodes = docs.documented()
    catalogued = {**docs.catalog["nodes"], **docs.catalog["sources"]}
    # The catalog read every relation of the build (no model is left out of the check).
    assert {uid for uid, node in nodes.items() if node.get("config", {}).get("enabled", True)} <= set(catalogued)
    undescribed = [f"{uid}.{column}" for uid, entry in catalogued.items() if uid in nodes
                   for column in entry["columns"]
                   if not _column_descriptions(nodes[uid]).get(column.lower())]
    assert undescribed == []
    assert sum(len(entry["columns"]) for entry in catalogued.values()) > len(catalogued)


def _warehouse_comments(path: Path) -> tuple[dict[str, str | None], dict[tuple[str, str], str | None]]:
    """Table/view comments by `schema.relation` and column comments by (`schema.relation`, column)."""
    schemas = ", ".join(f"'{schema}'" for schema in SCHEMAS)
    with duckdb.connect(str(path), read_only=True) as connection:
        relations = dict(connection.execute(
            f"select schema_name || '.' || table_name, comment from duckdb_tables() where schema_name in ({schemas}) "
            f"union all select schema_name || '.' || view_name, comment from duckdb_views() "
            f"where schema_name in ({schemas})").fetchall())
        columns = {(relation, column): comment for relation, column, comment in connection.execute(
            f"select schema_name || '.' || table_name, column_name, comment from duckdb_columns() "
            f"where schema_name in ({schemas})").fetchall()}
    return relations, columns


def _expected_comments(docs: Documented) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    relations: dict[str, str] = {}
    columns: dict[tuple[str, str], str] = {}
    for node in docs.documented().values():
        if node["resource_type"] == "source":
            continue
        relation = f"{node['schema']}.{node['alias']}"
        relations[relation] = _description(node)
        for name, description in _column_descriptions(node).items():
            columns[relation, name] = description
    return relations, columns


def test_descriptions_are_the_comments_a_bi_tool_sees(docs: Documented, tmp_path: Path) -> None:
    expected_relations, expected_columns = _expected_comments(docs)
    assert len(expected_relations) == len(docs.documented()) - len(docs.manifest["sources"])
    serving = tmp_path / "serving.duckdb"
    publish(Settings(raw_path=docs.warehouse.raw, duckdb_path=docs.warehouse.db, serving_path=serving,
                     raw_path_explicit=True))
    for path in (docs.warehouse.db, serving):
        relations, columns = _warehouse_comments(path)
        assert {name: (relations.get(name) or "").strip() for name in expected_relations} == expected_relations
        assert {key: (columns.get(key) or "").strip() for key in expected_columns} == expected_columns
