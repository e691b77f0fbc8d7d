"""Publishing what changed (`run --watch`, docs/continuous.md): the next serving copy from the last one.

`publish(..., incremental=True)` (serving.py) starts the new serving file as a byte copy of the current one, then
brings each relation of the build file up to date in it, and renames it over the serving copy as a full publish
does (atomic for readers; the same checks). A relation of the build file is

* left as it is when its rows did not change since the last publish: the same columns, row count and sum of row
  hashes (DuckDB `hash` of the whole row, read from the build file only);
* appended to when its first rows (by `rowid`) are exactly the rows published last time: only the rows after them
  are copied (incremental models that only append);
* copied whole otherwise, as are relations new to the serving copy; relations gone from the build are dropped.

The signatures of the last publish live beside the serving copy in `.<serving name>.tables.json`, with the
identity (inode, size, modification time) of the serving file they describe: when that file changed since
(another publish, a restore), the publish copies everything, as a full publish does.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from customer_agent_warehouse.quoting import quote_identifier, sql_literal


@dataclass(frozen=True)
class Signature:
    columns: str
    rows: int
    row_hash: str

    def as_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows, "row_hash": self.row_hash}


def signatures_path(serving: Path) -> Path:
    return serving.with_name(f".{serving.name}.tables.json")


def _identity(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_ino, info.st_size, info.st_mtime_ns]


def read_signatures(serving: Path) -> dict[str, Signature] | None:
    """The signatures of the serving copy as it is, or None when unknown (then everything is copied)."""
    try:
        document = json.loads(signatures_path(serving).read_text())
        if document.get("identity") != _identity(serving):
            return None
        return {name: Signature(**value) for name, value in document["relations"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_signatures(serving: Path, signatures: dict[str, Signature]) -> None:
    path = signatures_path(serving)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"identity": _identity(serving),
                                     "relations": {name: value.as_json() for name, value in signatures.items()}}))
    os.replace(temporary, path)


def forget_signatures(serving: Path) -> None:
    signatures_path(serving).unlink(missing_ok=True)


def _qualified(database: str, relation: str) -> str:
    schema, name = relation.split(".", 1)
    return f"{database}.{quote_identifier(schema)}.{quote_identifier(name)}"


def _columns(connection: Any, relation: str) -> str:
    schema, name = relation.split(".", 1)
    rows = connection.execute(
        "select column_name, data_type from duckdb_columns() where database_name = 'build_db' and schema_name = ? "
        "and table_name = ? order by column_index", [schema, name]).fetchall()
    return ", ".join(f"{column} {kind}" for column, kind in rows)


def relation_signature(connection: Any, relation: str, prefix_rows: int | None = None
                       ) -> tuple[Signature, tuple[int, str] | None]:
    """The signature of a relation of `build_db`, and (rows, hash) of its rows with rowid < prefix_rows."""
    source = _qualified("build_db", relation)
    prefix = ""
    if prefix_rows is not None:
        prefix = (f", count(*) filter (where rowid < {prefix_rows}), "
                  f"coalesce(sum(hash(t)::hugeint) filter (where rowid < {prefix_rows}), 0)::varchar")
    row = connection.execute(f"select count(*), coalesce(sum(hash(t)::hugeint), 0)::varchar{prefix} "
                             f"from {source} t").fetchone()
    signature = Signature(_columns(connection, relation), int(row[0]), str(row[1]))
    return signature, ((int(row[2]), str(row[3])) if prefix_rows is not None else None)


@dataclass
class DeltaOutcome:
    signatures: dict[str, Signature]
    unchanged: int = 0
    appended: int = 0
    copied: int = 0
    dropped: int = 0

    def summary(self) -> str:
        return (f"{self.copied} copied, {self.appended} appended, {self.unchanged} unchanged, "
                f"{self.dropped} dropped")


def start_from(serving: Path, temporary: Path) -> None:
    """The new file begins as a byte copy of the current serving copy (writable)."""
    shutil.copyfile(serving, temporary)
    temporary.chmod(0o644)


def apply_changes(connection: Any, relations: dict[str, str], previous: dict[str, Signature],
                  copy_relation: Any) -> DeltaOutcome:
    """Bring `serving_db` (attached, a copy of the last publish) up to date with `build_db`.

    `relations`: every readable relation of the build file -> 'table' or 'view'. `copy_relation(name, kind)`
    copies one relation whole (serving.py's, with comments)."""
    outcome = DeltaOutcome({})
    existing = {f"{schema}.{name}" for schema, name in connection.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'serving_db'").fetchall()}
    for relation in sorted(existing - set(relations)):
        connection.execute(f"drop table {_qualified('serving_db', relation)}")
        outcome.dropped += 1
    for relation, kind in sorted(relations.items()):
        before = previous.get(relation) if relation in existing else None
        prefix_rows = before.rows if before is not None and kind == "table" else None
        signature, prefix = relation_signature(connection, relation, prefix_rows)
        outcome.signatures[relation] = signature
        if before == signature:
            outcome.unchanged += 1
        elif before is not None and prefix == (before.rows, before.row_hash) and before.columns == signature.columns:
            connection.execute(f"insert into {_qualified('serving_db', relation)} select * from "
                               f"{_qualified('build_db', relation)} where rowid >= {before.rows}")
            outcome.appended += 1
        else:
            if relation in existing:
                connection.execute(f"drop table {_qualified('serving_db', relation)}")
            copy_relation(relation, kind)
            outcome.copied += 1
    return outcome


def schemas_sql(schemas: list[str]) -> list[str]:
    return [f"create schema if not exists serving_db.{quote_identifier(schema)}" for schema in schemas]


def attach_sql(path: Path, alias: str, read_only: bool = False) -> str:
    return f"attach {sql_literal(path)} as {alias}" + (" (read_only)" if read_only else "")
