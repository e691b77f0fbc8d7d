"""The Great Expectations suites on PostgreSQL (`validate --target postgres`, spec §10).

The suites in `expectations/` are written once. Their column expectations are GX's own, which GX renders
for PostgreSQL itself; their SQL rules (`UnexpectedRowsExpectation`) are DuckDB SQL, translated here to
PostgreSQL with sqlglot (pinned: dbt-metricflow depends on it) plus the few DuckDB functions it leaves
as they are:

| DuckDB                              | PostgreSQL                                                   |
|-------------------------------------|--------------------------------------------------------------|
| `regexp_full_match(s, p)`           | `s ~ ('^(?:' || p || ')$')`                                  |
| `len(list)`                         | `cardinality(list)`                                          |
| `list_sort(list_distinct(l))`       | `array(select x from unnest(l) ... group by x order by x collate "C")` |
| `list_has_all(a, b)`                | `a @> b`                                                     |
| `getvariable('name')`               | `current_setting('ca.name')::double precision`, or `::text[]` for a list |
| `to_microseconds(n)`                | `(n) * interval '1 microsecond'`                             |
| `list_filter(l, lambda x: ...)`     | `array(select x from unnest(l) as x where ...)` (sqlglot)    |
| `group by all`                      | the positions of the select expressions without an aggregate  |
| `anti join`                         | `where not exists (...)` (sqlglot)                            |

list_distinct drops nulls, and so does the translation. Lists are sorted byte-wise (`collate "C"`), as
DuckDB sorts them and as the models build them on every engine. Validation is read-only: the session is
`default_transaction_read_only`, in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import sqlglot
from sqlglot import exp

BATCH = "{batch}"
_BATCH_SENTINEL = "ca_gx_batch_relation"
VARIABLE_PREFIX = "ca."
_MAX_PASSES = 5
Variable = float | int | str | list[str]


def _anchored(pattern: exp.Expression) -> exp.Expression:
    return exp.Paren(this=exp.DPipe(this=exp.DPipe(this=exp.Literal.string("^(?:"), expression=pattern),
                                    expression=exp.Literal.string(")$")))


def _sorted_distinct(values: exp.Expression) -> exp.Expression:
    """DuckDB's list_sort(list_distinct(l)): distinct non-null values, sorted byte-wise."""
    return sqlglot.parse_one(f'array(select ca_value from unnest({values.sql("postgres")}) as ca_value '
                             'where ca_value is not null group by ca_value order by ca_value collate "C")',
                             read="postgres")


def _group_by_all(select: exp.Select) -> exp.Select:
    """`group by all`: the positions of the select expressions that hold no aggregate."""
    positions = [exp.Literal.number(index) for index, expression in enumerate(select.expressions, start=1)
                 if not expression.find(exp.AggFunc)]
    return select.group_by(*positions, append=False)


def _rewrite(node: exp.Expression, variables: Mapping[str, Variable]) -> exp.Expression:
    """One DuckDB construct that sqlglot leaves as it is, as PostgreSQL."""
    function = node.name.lower() if isinstance(node, exp.Anonymous) else ""
    if isinstance(node, exp.RegexpFullMatch):
        return exp.RegexpLike(this=node.this, expression=_anchored(node.expression))
    if isinstance(node, exp.Length):  # the suites call len() on lists only (no string length)
        return exp.Anonymous(this="cardinality", expressions=[node.this])
    if isinstance(node, exp.ArraySort) and isinstance(node.this, exp.ArrayDistinct):
        return _sorted_distinct(node.this.this)
    if function == "list_has_all":
        return exp.ArrayContainsAll(this=node.expressions[0], expression=node.expressions[1])
    if function == "to_microseconds":
        return exp.Mul(this=exp.Paren(this=node.expressions[0]),
                       expression=exp.Interval(this=exp.Literal.string("1"), unit=exp.Var(this="microsecond")))
    if function == "getvariable":
        name = node.expressions[0].name
        setting = exp.Literal.string(VARIABLE_PREFIX + name)
        kind = "text[]" if isinstance(variables.get(name), list | tuple) else "double precision"
        return exp.Cast(this=exp.Anonymous(this="current_setting", expressions=[setting]),
                        to=exp.DataType.build(kind, dialect="postgres"))
    group = node.args.get("group") if isinstance(node, exp.Select) else None
    if group is not None and group.args.get("all"):
        return _group_by_all(node)
    return node


def postgres_sql(duckdb_sql: str, variables: Mapping[str, Variable] | None = None) -> str:
    """A suite's DuckDB rule as PostgreSQL SQL; `{batch}` and doubled braces kept for GX's str.format.
    `variables` are the suite variables (a list becomes `text[]`, anything else `double precision`)."""
    plain = duckdb_sql.replace(BATCH, _BATCH_SENTINEL).replace("{{", "{").replace("}}", "}")
    tree = sqlglot.parse_one(plain, read="duckdb")
    for _ in range(_MAX_PASSES):  # a rewritten node's children are rewritten on the next pass
        rewritten = tree.transform(_rewrite, variables or {})
        if rewritten == tree:
            break
        tree = rewritten
    translated = tree.sql(dialect="postgres").replace("{", "{{").replace("}", "}}")
    if not re.search(r"\bjoin\b", translated, re.IGNORECASE):
        # GX gives the batch its own alias (`... AS subselect`) in a query without a join (an ANTI JOIN became
        # NOT EXISTS): the query's alias then names a derived table of it.
        translated = re.sub(rf"\b{_BATCH_SENTINEL}\s+AS\b", f"(SELECT * FROM {_BATCH_SENTINEL}) AS", translated)
    return translated.replace(_BATCH_SENTINEL, BATCH)


def session_options(variables: Mapping[str, Variable]) -> str:
    """libpq `options` of a validation session: UTC, read-only, and the suite variables as `ca.<name>`."""
    settings = ["-c timezone=UTC", "-c default_transaction_read_only=on"]
    settings += [f"-c {VARIABLE_PREFIX}{name}={_setting_text(value)}" for name, value in variables.items()]
    return " ".join(settings)


def _setting_text(value: Variable) -> str:
    """A variable as a PostgreSQL setting: a list as an array literal (`{a,b}`); spaces escaped for libpq."""
    if isinstance(value, list | tuple):
        text = "{" + ",".join('"' + str(item).replace("\\", "\\\\").replace('"', '\\"') + '"'
                              for item in value) + "}"
    else:
        text = str(value)
    return text.replace("\\", "\\\\").replace(" ", "\\ ")
