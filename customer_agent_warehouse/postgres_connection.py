"""The connection to the PostgreSQL server of the `postgres` target, from CA_PG_* (spec §10).

The same variables as the dbt profile (profiles/profiles.yml), read through settings.py. A server that cannot
be reached, refused credentials or a database that cannot be created are `UsageError`s: one line that names
the variables to fix (exit code 2), never a traceback. A database that does not exist yet is created (as
`dbt build` on DuckDB creates its file) when the user may create databases.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from customer_agent_warehouse.settings import UsageError, setting

CONNECT_TIMEOUT_SECONDS = 10
_MISSING_DATABASE = re.compile(r'database "[^"]*" does not exist')
_BAD_CREDENTIALS = ("password authentication failed", "no password supplied", "role \"", "peer authentication",
                    "ident authentication", "pg_hba.conf")


class PostgresError(UsageError):
    """The PostgreSQL server of the postgres target cannot be used as configured."""


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> PostgresSettings:
        return cls(host=setting("CA_PG_HOST", environ), port=int(setting("CA_PG_PORT", environ)),
                   user=setting("CA_PG_USER", environ), password=setting("CA_PG_PASSWORD", environ),
                   database=setting("CA_PG_DATABASE", environ))

    @property
    def where(self) -> str:
        """The server and database, for messages (never the password)."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def sqlalchemy_url(self) -> str:
        return (f"postgresql+psycopg2://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
                f"@{self.host}:{self.port}/{quote(self.database, safe='')}")

    def _connect(self, database: str):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname=database, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                                application_name="customer_agent_warehouse")

    def connect(self, create_database: bool = True):
        """A psycopg2 connection (transactions on) to CA_PG_DATABASE, created first when missing."""
        import psycopg2

        try:
            return self._connect(self.database)
        except psycopg2.OperationalError as error:
            if not (create_database and _MISSING_DATABASE.search(str(error))):
                raise self.error(error) from None
        self.create_database()
        try:
            return self._connect(self.database)
        except psycopg2.OperationalError as error:
            raise self.error(error) from None

    def create_database(self) -> None:
        import psycopg2
        from psycopg2 import sql

        try:
            connection = self._connect("postgres")
        except psycopg2.OperationalError as error:
            raise self.error(error) from None
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("create database {}").format(sql.Identifier(self.database)))
        except psycopg2.errors.DuplicateDatabase:
            pass  # created meanwhile by another build
        except psycopg2.Error as error:
            raise PostgresError(
                f"database {self.database!r} does not exist on {self.host}:{self.port} and user {self.user!r} "
                f"cannot create it ({_first_line(error)}): create it, or set CA_PG_DATABASE to an existing one"
            ) from None
        finally:
            connection.close()
        print(f"==> created PostgreSQL database {self.database} on {self.host}:{self.port}", flush=True)

    def drop_database(self) -> None:
        """Drop CA_PG_DATABASE when it exists (the benchmark's own databases)."""
        import psycopg2
        from psycopg2 import sql

        try:
            connection = self._connect("postgres")
        except psycopg2.OperationalError as error:
            raise self.error(error) from None
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(self.database)))
        finally:
            connection.close()

    def error(self, error: Exception) -> PostgresError:
        """The one-line message of a failed connection: what failed and which CA_PG_* variables to fix."""
        detail = _first_line(error)
        if any(marker in detail for marker in _BAD_CREDENTIALS):
            return PostgresError(f"PostgreSQL at {self.host}:{self.port} refused user {self.user!r} ({detail}): "
                                 "set CA_PG_USER and CA_PG_PASSWORD to a login of that server")
        if _MISSING_DATABASE.search(detail):
            return PostgresError(f"PostgreSQL database {self.database!r} does not exist on {self.host}:{self.port}: "
                                 "create it, or set CA_PG_DATABASE to an existing one")
        return PostgresError(f"cannot connect to PostgreSQL at {self.host}:{self.port} ({detail}): start the "
                             "server, or set CA_PG_HOST and CA_PG_PORT to a running one")


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    # libpq: 'connection to server at "h" (1.2.3.4), port 5432 failed: FATAL:  password authentication failed ...'
    return re.sub(r"\s+", " ", text.split("failed: ", 1)[-1].replace("FATAL:", "").strip())
