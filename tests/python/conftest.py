from __future__ import annotations

from pathlib import Path

import pytest

from tests.python.warehouse import Warehouse


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    """An empty raw zone and warehouse file in a temporary directory."""
    return Warehouse(root=tmp_path)
