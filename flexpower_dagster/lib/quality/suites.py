"""Suites declared as data, and the small vocabulary the per-domain ``expectations.py`` modules use.

A :class:`Suite` (built complete by :func:`suite`) belongs to one warehouse asset (``["staging", table]`` /
``["marts", table]``). It lists :class:`~flexpower_dagster.lib.quality.gx_runner.Expectation` specs; each names the
Dagster check it reports under (all expectations of a check share one severity) and where it runs: the asset's
partition (``"rows"``), a derived *view* built by a pure function from the partition and the reference tables the
suite declares (e.g. one row per portfolio asset with its QH count), or the warehouse (:class:`FailingRows`: SQL
returning the rows that break a rule). :func:`run_suite` builds the views and runs GX once per view. Domain-specific
vocabulary (capacity bounds, portfolio coverage) lives in the domain that owns the reference data (``defs/crm/quality.py``).

Pure module: no Dagster, GX only through the runner (lazily).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd

from flexpower_dagster.lib.quality.gx_runner import (
    BLOCKING,
    FAILING_ROWS_TYPE,
    WARN,
    Expectation,
    ExpectationResult,
    Severity,
    validate,
    validate_failing_rows,
)
from flexpower_dagster.lib.quality.observations import observe, row_noun
from flexpower_dagster.lib.quality.views import (
    Refs,
    column_types,
    qh_coverage,
)
from flexpower_dagster.lib.sql import memory_warehouse, quote, sql_string
from flexpower_dagster.lib.tables import TableSpec

View = Callable[[pd.DataFrame, Refs], pd.DataFrame]
#: The "view" of failing-rows expectations: GX runs their SQL in the warehouse (``Refs.conn``), no frame in between.
WAREHOUSE = "warehouse"

#: Plausible price bounds (EUR/MWh): outside is worth a look, not necessarily wrong.
PLAUSIBLE_PRICE = (-500.0, 4000.0)
#: EPEX intraday harmonised price limits (EUR/MWh): outside cannot be a real trade.
EXCHANGE_PRICE_LIMITS = (-9999.0, 9999.0)

#: What each standard check means (shown as the Dagster check description).
CHECK_DESCRIPTIONS = {
    "structure": "Schema and types as declared (TableSpec), keys not null and unique.",
    "values": "Allowed values and hard ranges whose violation would make downstream numbers wrong.",
    "contract_consistency": "Commercial terms usable: fixed price has a price, each fee model its parameter, "
    "begin before end, known models and technology.",
    "completeness": "Every expected quarter-hour / entity is present.",
    "quarantine": "Per-asset plausibility and referential integrity; a failing asset is quarantined by the marts "
    "(excluded and marked), the rest of the portfolio proceeds.",
    "plausibility": "Values inside plausible business bounds (a human should look).",
    "freshness": "Freshness / completeness signals: estimates, fallbacks, missing QHs, stale snapshots.",
}

@dataclass(frozen=True)
class FailingRows:
    """An expectation stated as SQL that returns the rows breaking it: none when it holds.

    ``sql`` runs in the warehouse with the day's parameters (``$day``, ``$day_start``, ``$day_end``) and returns
    one row per finding with a ``problem`` column in words (e.g. ``staging.crm_contracts has no contract in force
    on 2025-06-09 while staging.vpp_forecasts has 38016 rows``) and, for per-entity findings, the ``entity``
    column. It is GX's own ``UnexpectedRowsExpectation`` (:func:`~flexpower_dagster.lib.quality.gx_runner.validate_failing_rows`):
    each row is a failing row, its ``problem`` the observation. ``tables``: the tables the SQL reads (created
    empty when missing; a test without a warehouse gets them from ``Refs.tables`` by qualified name).
    """

    id: str
    sql: str
    description: str
    check: str
    severity: Severity
    tables: tuple[TableSpec, ...] = ()
    entity: str | None = None

    @classmethod
    def where(cls, table: TableSpec, where: str, problem: str, *, id: str, description: str, check: str,
              severity: Severity, entity: str | None = None, tables: tuple[TableSpec, ...] = ()) -> FailingRows:
        """The rows of ``table``'s day matching ``where`` (SQL), each with its ``entity`` and ``problem`` (SQL text)."""
        who = f"{quote(entity)}, " if entity else ""
        sql = (f"SELECT {who}{problem} AS problem FROM {table.qualified_name} "
               f"WHERE {quote(table.partition_column)} = CAST($day AS DATE) AND ({where})")
        return cls(id, sql, description, check, severity, tables, entity)

    def expectation(self) -> Expectation:
        return expect(self.id, FAILING_ROWS_TYPE, self.description, check=self.check, severity=self.severity,
                      view=WAREHOUSE, entity=self.entity, unexpected_rows_query=self.sql)


@dataclass(frozen=True)
class Suite:
    """The expectations of one asset, complete as declared: build it with :func:`suite`, which adds the standard
    views and expectations (files, failing rows, schema); the constructor only validates."""

    asset: tuple[str, str]  # ("staging", "crm_contracts")
    table: TableSpec
    expectations: tuple[Expectation, ...]
    views: Mapping[str, View] = field(default_factory=dict)
    #: tables whose partition of the same day the views need, by the name views use (``refs.table(name)``)
    reference_tables: Mapping[str, TableSpec] = field(default_factory=dict)
    entity: str | None = None  # default entity column, for the check metadata
    detail_column: str | None = None  # a column explaining a failing entity (e.g. contracts_in_force.problems)
    description: str = ""
    check_descriptions: Mapping[str, str] = field(default_factory=dict)
    #: False for tables that grow with assets x versions: the partition is never read into pandas, every
    #: view is computed in the warehouse (SQL views, :func:`structure_sql`), see lib/quality/views.py
    load_partition: bool = True
    #: expectations stated as SQL returning their failing rows (e.g. a mart's inputs present: lib/quality/completeness.py);
    #: they run in the warehouse, so the check op hands the suite its connection
    failing_rows: Sequence[FailingRows] = ()

    def __post_init__(self) -> None:
        if not self.load_partition:
            in_pandas = [e.id for e in self.expectations if e.view in ("rows", "schema")]
            if in_pandas:
                raise ValueError(f"{self.name}: checks in SQL (load_partition=False), but {in_pandas} need the rows in pandas")
        ids = [e.id for e in self.expectations]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"{self.name}: duplicate expectation ids {sorted(dup)}")
        sev: dict[str, str] = {}
        for e in self.expectations:
            if sev.setdefault(e.check, e.severity) != e.severity:
                raise ValueError(f"{self.name}: check {e.check!r} mixes severities; one severity per check")
            if e.view not in ("rows", WAREHOUSE) and e.view not in self.views:
                raise ValueError(f"{self.name}: expectation {e.id} uses unknown view {e.view!r}")

    @property
    def name(self) -> str:
        return ".".join(self.asset)

    @property
    def needs_warehouse(self) -> bool:
        """Some view is computed in the warehouse (SQL views, failing-rows expectations)."""
        return not self.load_partition or bool(self.failing_rows)

    @property
    def sql_tables(self) -> tuple[TableSpec, ...]:
        """The tables the suite's SQL views read besides its own and its reference tables."""
        own = {self.table.qualified_name, *(t.qualified_name for t in self.reference_tables.values())}
        out: dict[str, TableSpec] = {}
        read = [t for v in self.views.values() for t in getattr(v, "tables", ())] + [t for f in self.failing_rows for t in f.tables]
        for spec in read:
            if spec.qualified_name not in own:
                out.setdefault(spec.qualified_name, spec)
        return tuple(out.values())

    @property
    def partition_column(self) -> str | None:
        return self.table.partition_column

    @property
    def checks(self) -> dict[str, Severity]:
        """Dagster check name -> severity, in declaration order."""
        out: dict[str, Severity] = {}
        for e in self.expectations:
            out.setdefault(e.check, e.severity)
        return out

    def check_description(self, check: str) -> str:
        base = self.check_descriptions.get(check) or CHECK_DESCRIPTIONS.get(check, check)
        items = "\n".join(f"- {e.description}" for e in self.expectations if e.check == check)
        return f"{base}\n\n{items}"


def suite(asset: tuple[str, str], table: TableSpec, expectations: Iterable[Expectation], *,
          views: Mapping[str, View] | None = None, reference_tables: Mapping[str, TableSpec] | None = None,
          failing_rows: Sequence[FailingRows] = (), refused_files: str | None = None, load_partition: bool = True,
          **declared: Any) -> Suite:
    """The complete :class:`Suite` of ``asset``: the declared expectations and views plus the standard ones.

    ``refused_files`` (staging tables): ``"block"`` when a day whose files were all refused must stop the marts
    (portfolio-wide data), ``"warn"`` when it is one asset's file: adds the failing-rows rules :func:`file_checks`
    (first). ``failing_rows`` adds each rule's expectation; the ``schema`` view (column types) is always there, and a
    suite checking in SQL (``load_partition=False``) gets the warehouse's structure views. ``declared``: the other
    Suite fields.
    """
    views = dict(views or {})
    first = file_checks(table, refused_files) if refused_files is not None else ()
    exps = (*(f.expectation() for f in first), *expectations, *(f.expectation() for f in failing_rows))
    views.setdefault("schema", partial(column_types, table=table))
    return Suite(asset=asset, table=table, expectations=exps, views=views, reference_tables=dict(reference_tables or {}),
                 failing_rows=(*first, *failing_rows), load_partition=load_partition, **declared)


def file_checks(table: TableSpec, refused: str) -> tuple[FailingRows, ...]:
    """A staging table's day and its landing files (``staging.rejected_files``): ``file-usable`` (``completeness``,
    blocking when ``refused == "block"``): some file was loaded, not only refused ones (a day whose only export was
    rejected has *no* data, not zero trades); ``no-file-refused`` (``rejected_files``, warn) names every file of the
    day that was rejected or held."""
    from flexpower_dagster.lib.landing.source import REJECTED_FILES

    if refused not in ("block", "warn"):
        raise ValueError(f"{table.qualified_name}: refused_files must be 'block' or 'warn'")
    files = (f"SELECT array_to_string(list_sort(list_distinct(list(file))), ', ') AS names, count(DISTINCT file) AS n "
             f"FROM {REJECTED_FILES.qualified_name} WHERE delivery_day = CAST($day AS DATE) AND source = {sql_string(table.name)}")
    loaded = f"SELECT count(*) FROM {table.qualified_name} WHERE {quote(table.partition_column)} = CAST($day AS DATE)"
    return (
        FailingRows("file-usable", f"SELECT {sql_string(table.name)} AS source, 'no file of the day was loaded; refused: ' "
                    f"|| names AS problem FROM ({files}) WHERE n > 0 AND ({loaded}) = 0",
                    "a file of the day was loaded (not only rejected or held ones)", "completeness",
                    BLOCKING if refused == "block" else WARN, (REJECTED_FILES,), "source"),
        FailingRows("no-file-refused", f"SELECT names AS rejected, n || ' file(s) rejected or held: ' || names AS problem "
                    f"FROM ({files}) WHERE n > 0", "no file of the day was rejected or held", "rejected_files", WARN,
                    (REJECTED_FILES,), "rejected"),
    )


@dataclass
class CheckOutcome:
    name: str
    severity: Severity
    results: list[ExpectationResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.passed]

    @property
    def failing_rows(self) -> int:
        return sum(r.failing_rows for r in self.failed)

    def entity_problems(self) -> dict[str, list[str]]:
        """Failing entity -> descriptions of every expectation it failed."""
        out: dict[str, list[str]] = {}
        for r in self.failed:
            for ent in r.failing_entities:
                out.setdefault(ent, []).append(r.description)
        return out


@dataclass
class SuiteResult:
    suite: Suite
    results: list[ExpectationResult]
    row_count: int = 0

    def __getitem__(self, id: str) -> ExpectationResult:
        for r in self.results:
            if r.id == id:
                return r
        raise KeyError(id)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed_ids(self) -> list[str]:
        return [r.id for r in self.results if not r.passed]

    def checks(self) -> dict[str, CheckOutcome]:
        out: dict[str, CheckOutcome] = {}
        for name, sev in self.suite.checks.items():
            out[name] = CheckOutcome(name, sev, [r for r in self.results if r.check == name])
        return out


def run_suite(suite: Suite, frame: pd.DataFrame, refs: Refs | None = None) -> SuiteResult:
    """Validate ``frame`` (one partition of the suite's asset) with GX; views are built from ``refs``.

    A suite that checks in SQL (``load_partition=False``) computes its views in ``refs.conn``; without one
    (tests: hand-made frames) they run on an in-memory warehouse holding ``frame`` and the reference tables.
    """
    refs = refs or Refs()
    if suite.needs_warehouse and refs.conn is None:
        day = refs.day or _partition_day(suite, frame)
        tables = {suite.table: frame, **{spec: refs.table(name) for name, spec in suite.reference_tables.items()},
                  **{spec: refs.table(spec.qualified_name) for spec in suite.sql_tables}}
        try:
            conn = memory_warehouse(tables, partition_day=day)
        except Exception:
            if not suite.load_partition:
                raise
            conn = None  # hand-made rows that do not fit their columns: the SQL views report it, the rest runs
        if conn is not None:
            with conn:
                return run_suite(suite, frame, Refs(day=day, tables=refs.tables, conn=conn))
    by_view: dict[str, list[Expectation]] = {}
    for e in suite.expectations:
        by_view.setdefault(e.view, []).append(e)
    results: dict[str, ExpectationResult] = {}
    for view, exps in by_view.items():
        try:
            if view == WAREHOUSE:  # failing-rows rules: GX queries the warehouse itself, the rows are the observation
                for r in validate_failing_rows(refs.conn, refs.day, exps, name=f"{suite.name}:{view}"):
                    results[r.id] = r
                continue
            data = frame if view == "rows" else suite.views[view](frame, refs)
        except Exception as exc:  # a view that cannot be built fails its expectations, never the run
            for e in exps:
                results[e.id] = ExpectationResult(
                    id=e.id, check=e.check, type=e.type, severity=e.severity, description=e.description,
                    passed=False, error=f"view {view!r} could not be built: {type(exc).__name__}: {exc}",
                )
            continue
        noun = row_noun(suite.table.key) if view == "rows" else "rows"
        for e, r in zip(exps, validate(data, exps, name=f"{suite.name}:{view}")):
            results[r.id] = observe(r, e, data, noun)  # what failed, in words (lib/quality/observations.py)
    rows = len(frame) if suite.load_partition else int(refs.query(
        f"SELECT count(*) AS n FROM {suite.table.qualified_name} WHERE {quote(suite.partition_column)} = CAST($day AS DATE)")["n"].iloc[0])
    return SuiteResult(suite=suite, results=[results[e.id] for e in suite.expectations], row_count=rows)


def _partition_day(suite: Suite, frame: pd.DataFrame):
    """The one day ``frame`` (a partition of the suite's table) holds, or None."""
    col = suite.partition_column
    if col and col in frame and len(frame):
        days = pd.to_datetime(frame[col]).dropna().dt.date.unique()
        if len(days) == 1:
            return days[0]
    return None


# --------------------------------------------------------------------------------------------
# vocabulary: builders returning Expectation specs


def expect(id: str, type: str, description: str, *, check: str, severity: Severity, view: str = "rows",
           entity: str | None = None, **kwargs: Any) -> Expectation:
    return Expectation(id=id, type=type, kwargs=kwargs, severity=severity, description=description, check=check,
                       view=view, entity=entity)


def structure(table: TableSpec, *, check: str = "structure", severity: Severity = BLOCKING,
              not_null: Iterable[str] = (), entity: str | None = None) -> list[Expectation]:
    """Schema (exact column set), types per column, key and non-nullable columns not null, key unique.

    The types are validated on the ``schema`` view (one row per declared column with its observed
    pandas dtype, see :func:`~flexpower_dagster.defs.quality.rules.column_types`): one expectation
    instead of one per column keeps the GX overhead low. Suites using it need ``views=STANDARD_VIEWS``
    (``Suite`` adds the ``schema`` view automatically).
    """
    out = [
        expect("columns", "ExpectTableColumnsToMatchSet", f"columns are exactly those declared for {table.qualified_name}",
               check=check, severity=severity, column_set=table.column_names, exact_match=True),
    ]
    out.append(in_set("_type_ok", [True], check=check, severity=severity, view="schema", entity="column", id="column-types",
                      description=f"every declared column has its declared type ({table.qualified_name})"))
    required = list(dict.fromkeys([*table.key, *(c.name for c in table.columns if not c.nullable), *not_null]))
    for name in required:
        out.append(expect(f"not-null-{name}", "ExpectColumnValuesToNotBeNull", f"{name} is never NULL",
                          check=check, severity=severity, entity=entity, column=name))
    if len(table.key) == 1:
        out.append(expect("unique-key", "ExpectColumnValuesToBeUnique", f"key ({table.key[0]}) is unique",
                          check=check, severity=severity, entity=entity, column=table.key[0]))
    else:
        out.append(expect("unique-key", "ExpectCompoundColumnsToBeUnique", f"key ({', '.join(table.key)}) is unique",
                          check=check, severity=severity, entity=entity, column_list=list(table.key)))
    return out


def structure_sql(table: TableSpec, *, check: str = "structure", severity: Severity = BLOCKING,
                  not_null: Iterable[str] = ()) -> list[FailingRows]:
    """:func:`structure` for a suite that checks in SQL (``load_partition=False``): the same rules as failing rows of
    the warehouse's catalog (one per column) and of the day (NULLs per required column, repeated keys)."""
    required = list(dict.fromkeys([*table.key, *(c.name for c in table.columns if not c.nullable), *not_null]))
    name, day = table.qualified_name, f"{quote(table.partition_column)} = CAST($day AS DATE)"
    declared = " UNION ALL ".join(f"SELECT {sql_string(c.name)} AS name, {sql_string(c.type)} AS type" for c in table.columns)
    stored = ("SELECT column_name AS name, data_type AS type FROM information_schema.columns "
              f"WHERE table_schema = {sql_string(table.schema)} AND table_name = {sql_string(table.name)}")
    nulls = (f"UNPIVOT (SELECT count(*) - count(COLUMNS(c -> c IN ({', '.join(map(sql_string, required))}))) FROM {name} "
             f"WHERE {day}) ON COLUMNS(*) INTO NAME name VALUE n")
    keys = ", ".join(map(quote, table.key))
    catalog = [("columns", f"every column declared for {name} is stored", f"SELECT d.name, 'declared ' || d.type || ', not stored' "
                f"AS problem FROM ({declared}) d ANTI JOIN ({stored}) s USING (name)"),
               ("columns-declared", f"no undeclared column in {name}", f"SELECT s.name, 'stored (' || s.type || '), not declared' "
                f"AS problem FROM ({stored}) s ANTI JOIN ({declared}) d USING (name)"),
               ("column-types", f"every declared column has its declared type ({name})", "SELECT d.name, 'declared ' || d.type "
                f"|| ', stored ' || s.type AS problem FROM ({declared}) d JOIN ({stored}) s USING (name) WHERE d.type <> s.type"),
               ("not-null", f"{', '.join(required)} never NULL", f"SELECT name, n || ' NULLs' AS problem FROM ({nulls}) WHERE n > 0")]
    return [*(FailingRows(id, f'SELECT name AS "column", problem FROM ({sql})', text, check, severity, (), "column")
              for id, text, sql in catalog),
            FailingRows("unique-key", f"SELECT count(*) || ' key values stored more than once' AS problem FROM (SELECT {keys} "
                        f"FROM {name} WHERE {day} GROUP BY ALL HAVING count(*) > 1) HAVING count(*) > 0",
                        f"key ({', '.join(table.key)}) is unique", check, severity)]


def in_set(column: str, values: Sequence[Any], *, check: str, severity: Severity, entity: str | None = None,
           id: str | None = None, description: str | None = None, mostly: float | None = None, view: str = "rows",
           **kw: Any) -> Expectation:
    extra = {"mostly": mostly} if mostly is not None else {}
    return expect(id or f"{column}-in-set", "ExpectColumnValuesToBeInSet",
                  description or f"{column} in {{{', '.join(map(str, values))}}}",
                  check=check, severity=severity, entity=entity, view=view, column=column, value_set=list(values), **extra, **kw)


def between(column: str, min_value: float | None, max_value: float | None, *, check: str, severity: Severity,
            entity: str | None = None, id: str | None = None, description: str | None = None, view: str = "rows",
            strict_min: bool = False, **kw: Any) -> Expectation:
    if description is None:
        lo = "" if min_value is None else f"{min_value:g} {'<' if strict_min else '<='} "
        hi = "" if max_value is None else f" <= {max_value:g}"
        description = f"{lo}{column}{hi}"
    extra = {"strict_min": True} if strict_min else {}
    return expect(id or f"{column}-range", "ExpectColumnValuesToBeBetween", description, check=check, severity=severity,
                  entity=entity, view=view, column=column, min_value=min_value, max_value=max_value, **extra, **kw)


def not_null(column: str, *, check: str, severity: Severity, entity: str | None = None, id: str | None = None,
             description: str | None = None, view: str = "rows", **kw: Any) -> Expectation:
    return expect(id or f"not-null-{column}", "ExpectColumnValuesToNotBeNull", description or f"{column} is never NULL",
                  check=check, severity=severity, entity=entity, view=view, column=column, **kw)


def a_ge_b(a: str, b: str, *, check: str, severity: Severity, id: str, description: str, entity: str | None = None,
           view: str = "rows", strict: bool = False) -> Expectation:
    """Column a >= b (a > b when strict), rows where either is NULL are ignored."""
    return expect(id, "ExpectColumnPairValuesAToBeGreaterThanB", description, check=check, severity=severity,
                  entity=entity, view=view, column_A=a, column_B=b, or_equal=not strict, ignore_row_if="either_value_is_missing")


def row_count(min_value: int | None, max_value: int | None = None, *, check: str, severity: Severity, id: str = "row-count",
              description: str | None = None, view: str = "rows") -> Expectation:
    return expect(id, "ExpectTableRowCountToBeBetween", description or f"between {min_value} and {max_value} rows",
                  check=check, severity=severity, view=view, min_value=min_value, max_value=max_value)


def qh_complete(*, check: str, severity: Severity, entity: str | None = "asset_id", view: str = "qh_coverage",
                id: str = "qh-per-asset", description: str | None = None) -> Expectation:
    """Every entity of the coverage view has all 96 QHs of the day."""
    who = f"every {entity}" if entity else "the day"
    return between("n_qh", 96, 96, check=check, severity=severity, entity=entity or "scope", view=view, id=id,
                   description=description or f"96 quarter-hours for {who}")


def coverage_view(entity: str | None = "asset_id", time_column: str = "delivery_start", expected=None,
                  add_missing: bool = True) -> View:
    """A ``qh_coverage`` view (see :func:`flexpower_dagster.lib.quality.views.qh_coverage`)."""
    return partial(qh_coverage, entity=entity, time_column=time_column, expected=expected, add_missing=add_missing)


__all__ = [
    "BLOCKING",
    "EXCHANGE_PRICE_LIMITS",
    "PLAUSIBLE_PRICE",
    "WARN",
    "CheckOutcome",
    "FailingRows",
    "Suite",
    "SuiteResult",
    "a_ge_b",
    "between",
    "coverage_view",
    "expect",
    "file_checks",
    "in_set",
    "not_null",
    "qh_complete",
    "row_count",
    "run_suite",
    "structure",
    "structure_sql",
    "suite",
]
