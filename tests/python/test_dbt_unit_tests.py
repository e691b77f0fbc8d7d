"""Every dbt unit test of the project (model logic, one per spec rule) runs and passes.

The end-to-end scenarios exclude unit tests from their builds (they do not depend on data); this test runs
them all, in DAG order, inside a real `dbt build` of an empty raw zone (empty on purpose: allow_empty_raw_zone).
"""

from __future__ import annotations

import json

from tests.python.warehouse import Warehouse


def test_all_dbt_unit_tests_pass(warehouse: Warehouse) -> None:
    warehouse.build(unit_tests=True, vars={"as_of": "2026-11-20T12:00:00Z", "allow_empty_raw_zone": True})
    results = json.loads((warehouse.root / "target" / "run_results.json").read_text())["results"]
    unit_tests = [result for result in results if result["unique_id"].startswith("unit_test.")]
    failures = [result["unique_id"] for result in unit_tests if result["status"] != "pass"]
    assert not failures
    manifest = json.loads((warehouse.root / "target" / "manifest.json").read_text())
    assert manifest["unit_tests"], "the project has unit tests"
    assert {result["unique_id"] for result in unit_tests} == set(manifest["unit_tests"])
