from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.python.warehouse import PROJECT_ROOT, Warehouse

ENSURE_JAVA = PROJECT_ROOT / "scripts" / "ensure_java.sh"


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    """An empty raw zone and warehouse file in a temporary directory."""
    return Warehouse(root=tmp_path)


@pytest.fixture(scope="session")
def spark_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for dbt on the `spark` target: a Java runtime (installed when missing) and a warehouse in a tmp path.

    The warehouse directory (CA_SPARK_WAREHOUSE) and its Derby metastore beside it belong to the test session;
    the embedded metastore admits one process at a time, so Spark tests run their dbt commands one after another.
    """
    result = subprocess.run(["bash", str(ENSURE_JAVA)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"Spark tests need Java: {result.stderr.strip()}", pytrace=False)
    java_home = result.stdout.strip()
    root = tmp_path_factory.mktemp("spark")
    env = dict(os.environ)
    env.update(
        JAVA_HOME=java_home,
        PATH=f"{java_home}/bin{os.pathsep}{env.get('PATH', '')}",
        CA_DBT_TARGET="spark",
        CA_SPARK_WAREHOUSE=str(root / "spark-warehouse"),
        CA_SPARK_MASTER=env.get("CA_SPARK_MASTER", "local[2]"),
        CA_SPARK_DRIVER_MEMORY=env.get("CA_SPARK_DRIVER_MEMORY", "2g"),
        CA_RAW_PATH=str(root / "raw"),
        SPARK_LOCAL_IP="127.0.0.1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env
