"""Where things are: the project, the raw zone, the warehouse file (spec §2, §7)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RAW_PATH = PROJECT_ROOT / "data" / "raw"
DEFAULT_DUCKDB_PATH = PROJECT_ROOT / "data" / "warehouse.duckdb"
DEFAULT_REPORT_DIR = PROJECT_ROOT / "reports"
SOURCES = ("conversation_logs", "orders", "profiles")


@dataclass(frozen=True)
class Settings:
    raw_path: Path
    duckdb_path: Path

    def dbt_env(self) -> dict[str, str]:
        """The environment a dbt subprocess needs: absolute paths, so the working directory does not matter."""
        env = dict(os.environ)
        env["CA_RAW_PATH"] = str(self.raw_path)
        env["CA_DUCKDB_PATH"] = str(self.duckdb_path)
        env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        return env


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


def load_settings() -> Settings:
    """CA_RAW_PATH and CA_DUCKDB_PATH, relative to the current directory when relative; project defaults otherwise."""
    return Settings(
        raw_path=_path_from_env("CA_RAW_PATH", DEFAULT_RAW_PATH),
        duckdb_path=_path_from_env("CA_DUCKDB_PATH", DEFAULT_DUCKDB_PATH),
    )


def raw_zone_has_files(raw_path: Path) -> bool:
    folders = [raw_path / source for source in SOURCES if (raw_path / source).is_dir()]
    return any(next(folder.rglob("*.jsonl*"), None) is not None for folder in folders)
