from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from customer_agent_warehouse.postgres_server import PostgresServer, running_server
from customer_agent_warehouse.spark_cluster import Cluster, standalone_cluster
from tests.python import clock
from tests.python.postgres import PostgresWarehouse
from tests.python.warehouse import PROJECT_ROOT, Warehouse

ENSURE_JAVA = PROJECT_ROOT / "scripts" / "ensure_java.sh"

# Every build of the suite (in-process, CLI and dbt subprocesses inherit it) takes the plausible-time window from a
# fixed instant instead of the build's clock (tests/python/clock.py).
os.environ["CA_TIMESTAMP_WINDOW_ANCHOR"] = clock.WINDOW_ANCHOR

# A pytest-xdist worker runs under execnet, whose __main__ has neither __spec__ nor __file__. pyspark.sql.connect
# (imported by Great Expectations) then takes the process for a doctest run and calls sys.exit(0) when grpc is
# missing. Naming the worker's main module keeps the import an ordinary ImportError that GE handles.
_main_module = sys.modules["__main__"]
if getattr(_main_module, "__spec__", None) is None and not hasattr(_main_module, "__file__"):
    _main_module.__file__ = "<pytest-xdist worker>"


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    """An empty raw zone and warehouse file in a temporary directory."""
    return Warehouse(root=tmp_path)


@pytest.fixture(scope="session")
def spark_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for dbt on the `spark` target: a Java runtime (installed when missing) and a warehouse in a tmp path.

    The warehouse directory (CA_SPARK_WAREHOUSE) and its Derby metastore beside it belong to the test session (one
    per pytest-xdist worker, so workers never share a metastore);
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


@pytest.fixture(scope="session")
def spark_cluster(spark_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The session's Spark standalone cluster (a master and two 1-core workers on 127.0.0.1, from the pinned
    pyspark's launch scripts), started on first use and stopped by pid at the end, also on failure."""
    os.environ.setdefault("JAVA_HOME", spark_env["JAVA_HOME"])
    os.environ["PATH"] = spark_env["PATH"]
    with standalone_cluster(tmp_path_factory.mktemp("spark_cluster"), workers=2, worker_cores=1,
                            worker_memory="1536m") as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's throwaway PostgreSQL server, started on first use (by a test marked `postgres`),
    installed from the OS packages when missing, stopped and removed at the end, also on failure."""
    with running_server() as server:
        yield server


def new_database(server: PostgresServer) -> str:
    name = f"ca_test_{uuid.uuid4().hex[:12]}"
    server.create_database(name)
    return name


@pytest.fixture(autouse=True)
def _postgres_environment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test marked `postgres` gets a fresh database, and CA_PG_* pointing at it for every dbt run."""
    if request.node.get_closest_marker("postgres") is None:
        yield
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    database = new_database(server)
    for name, value in server.env(database).items():
        monkeypatch.setenv(name, value)
    yield
    server.drop_database(database)


@pytest.fixture
def pg_warehouse(tmp_path: Path, postgres_server: PostgresServer) -> PostgresWarehouse:
    """An empty raw zone and a fresh PostgreSQL database (tests marked `postgres`)."""
    return PostgresWarehouse(root=tmp_path, server=postgres_server, database=os.environ["CA_PG_DATABASE"])


# The longest modules first: pytest-xdist hands out modules in collection order (--dist loadfile), so the
# Spark equality builds (cluster and Thrift) and the PostgreSQL 20k equality start first instead of
# leaving one worker alone at the end. Every other module keeps its order.
LONGEST_MODULES = ("test_spark_e2e.py", "test_spark_thrift_e2e.py", "test_postgres_e2e.py")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--reverse-tests", action="store_true",
                     help="run the tests of every module in reverse order: no test may depend on another one "
                          "having run before it (scripts/stress_suite.sh uses it)")


def _reversed_within_modules(items: list[pytest.Item]) -> list[pytest.Item]:
    modules: dict[Path, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.path, []).append(item)
    return [item for module in modules.values() for item in reversed(module)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--reverse-tests"):
        items[:] = _reversed_within_modules(items)
    items.sort(key=lambda item: LONGEST_MODULES.index(item.path.name) if item.path.name in LONGEST_MODULES
               else len(LONGEST_MODULES))
