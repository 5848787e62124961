"""Declared table schemas: the single source of truth for every warehouse table's columns.

A :class:`TableSpec` names a table's DuckDB schema, its columns with DuckDB types and
descriptions, and its key. It is used

* by the IO manager, to create the table with exactly these types and to cast each frame on write
  (so an empty partition never creates a table with guessed types);
* by assets, to publish the column schema in the Dagster UI (``dagster/column_schema``);
* by parsers and rules, to build typed empty frames and to put columns in the declared order;
* by the data-quality suites, for schema and key expectations.

Instants are stored as ``TIMESTAMP`` holding UTC (the DuckDB wheel has no ICU extension offline,
so ``TIMESTAMPTZ`` arithmetic is not available; see README "Decisions").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

# DuckDB type -> pandas dtype used for empty frames and for conforming frames.
_PANDAS_DTYPES: dict[str, str] = {
    "DATE": "datetime64[ns]",
    "TIMESTAMP": "datetime64[ns]",
    "DOUBLE": "float64",
    "BIGINT": "Int64",
    "INTEGER": "Int64",
    "BOOLEAN": "boolean",
    "VARCHAR": "object",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type: DATE, TIMESTAMP, DOUBLE, BIGINT, INTEGER, BOOLEAN, VARCHAR
    description: str = ""
    nullable: bool = True

    def __post_init__(self) -> None:
        if self.type not in _PANDAS_DTYPES:
            raise ValueError(f"column {self.name}: unsupported type {self.type}")

    @property
    def pandas_dtype(self) -> str:
        return _PANDAS_DTYPES[self.type]


@dataclass(frozen=True)
class TableSpec:
    schema: str
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    description: str = ""
    partition_column: str | None = "delivery_day"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        names = self.column_names
        if len(set(names)) != len(names):
            raise ValueError(f"{self.qualified_name}: duplicate column names")
        missing = [k for k in self.key if k not in names]
        if missing:
            raise ValueError(f"{self.qualified_name}: key columns {missing} not declared")
        if self.partition_column and self.partition_column not in names:
            raise ValueError(f"{self.qualified_name}: partition column not declared")

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def ddl(self) -> str:
        cols = ",\n  ".join(f'"{c.name}" {c.type}' for c in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.qualified_name} (\n  {cols}\n)"

    def empty_frame(self) -> pd.DataFrame:
        return pd.DataFrame({c.name: pd.Series([], dtype=c.pandas_dtype) for c in self.columns})

    def conform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return ``df`` with exactly the declared columns, in order, with declared dtypes.

        Raises ``ValueError`` naming the missing columns; extra columns are an error too, so a
        table never silently loses a column a rule computed.
        """
        missing = [c for c in self.column_names if c not in df.columns]
        extra = [c for c in df.columns if c not in self.column_names]
        if missing or extra:
            raise ValueError(
                f"{self.qualified_name}: frame does not match the declared columns "
                f"(missing {missing}, undeclared {extra})"
            )
        out = df.loc[:, self.column_names].copy()
        for c in self.columns:
            out[c.name] = _cast(out[c.name], c)
        return out.reset_index(drop=True)


def _cast(series: pd.Series, column: Column) -> pd.Series:
    if column.type in ("DATE", "TIMESTAMP"):
        s = pd.to_datetime(series)
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        s = s.astype("datetime64[ns]")
        return s.dt.normalize() if column.type == "DATE" else s
    if column.type == "VARCHAR":
        return series.astype("object").where(series.notna(), None)
    return series.astype(column.pandas_dtype)
