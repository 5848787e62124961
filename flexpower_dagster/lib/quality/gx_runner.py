"""A small, pure Great Expectations 1.x runner (no Dagster import).

``validate(frame, expectations)`` runs a list of :class:`Expectation` specs (declared as data: GX
class name + kwargs + severity + description) against a pandas frame and returns one
:class:`ExpectationResult` per spec: passed, unexpected count, a sample of failing rows and values
and, for per-entity expectations, the failing entity ids (asset ids, contract ids, ...).

GX is imported lazily, inside :func:`gx_context` (its import costs seconds and must not slow down
loading the definitions). One ephemeral context per process is created and reused, with one pandas
datasource and one whole-dataframe batch definition: each validation only builds a batch from the
frame and an in-memory suite.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

Severity = Literal["blocking", "warn"]
BLOCKING: Severity = "blocking"
WARN: Severity = "warn"

#: How many failing rows / values / entities a result keeps (the counts are always complete).
SAMPLE_ROWS = 5
SAMPLE_VALUES = 20
MAX_ENTITIES = 50


@dataclass(frozen=True)
class Expectation:
    """One expectation declared as data.

    ``type`` is the GX 1.x expectation class name (``gx.expectations.<type>``), ``kwargs`` its
    arguments. ``check`` is the Dagster asset check it reports under (all expectations of one check
    share one severity). ``view`` names the frame it runs on: ``"rows"`` is the asset's partition
    itself, anything else a derived frame of the suite (e.g. one row per portfolio asset with its QH
    count). ``entity`` is the column naming the entity a failing row belongs to (``asset_id``,
    ``contract_id``): the result then lists the failing entities.
    """

    id: str
    type: str
    kwargs: Mapping[str, Any]
    severity: Severity
    description: str
    check: str
    view: str = "rows"
    entity: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in (BLOCKING, WARN):
            raise ValueError(f"{self.id}: severity must be 'blocking' or 'warn', not {self.severity!r}")


@dataclass
class ExpectationResult:
    id: str
    check: str
    type: str
    severity: Severity
    description: str
    passed: bool
    unexpected_count: int = 0
    element_count: int | None = None
    unexpected_percent: float | None = None
    observed: Any = None
    failing_entities: list[str] = field(default_factory=list)
    sample_rows: list[dict] = field(default_factory=list)
    sample_values: list[Any] = field(default_factory=list)
    error: str | None = None
    gx: dict = field(default_factory=dict)  # GX's own result (trimmed) for this expectation
    #: positions (in the validated frame) of every failing row, and what they show (lib/quality/observations.py)
    failing_index: list = field(default_factory=list, repr=False)
    observation: str | None = None
    entity_observations: dict[str, str] = field(default_factory=dict)

    @property
    def failing_rows(self) -> int:
        """Rows that failed; a failed table-level expectation (no rows to blame) counts as 1."""
        if self.passed:
            return 0
        return int(self.unexpected_count) if self.unexpected_count else 1

    def summary(self) -> str:
        """One readable line: what failed, how often, for whom, and an example."""
        if self.passed:
            return f"{self.description}: ok"
        parts = [self.description]
        if self.error:
            parts.append(f"error: {self.error}")
        elif self.unexpected_count:
            pct = f" ({self.unexpected_percent:.1f} %)" if self.unexpected_percent is not None else ""
            parts.append(f"{self.unexpected_count} failing rows{pct}")
        elif self.observed is not None:
            parts.append(f"observed {_short(self.observed)}")
        if self.failing_entities:
            parts.append("entities: " + ", ".join(self.failing_entities[:10]) + (" …" if len(self.failing_entities) > 10 else ""))
        if self.sample_values and not self.failing_entities:
            parts.append("e.g. " + ", ".join(_short(v) for v in self.sample_values[:5]))
        return " — ".join(parts)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("gx", "failing_index")}


# --------------------------------------------------------------------------------------------
# the GX context: one per process


class _GX:
    lock = threading.Lock()
    context: Any = None
    batch_definition: Any = None


def gx_context():
    """The process-wide ephemeral GX context (created on first use; imports GX lazily)."""
    if _GX.context is None:
        with _GX.lock:
            if _GX.context is None:
                import great_expectations as gx
                from great_expectations.data_context.types.base import (
                    DataContextConfig,
                    InMemoryStoreBackendDefaults,
                    ProgressBarsConfig,
                )

                config = DataContextConfig(
                    store_backend_defaults=InMemoryStoreBackendDefaults(),
                    progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
                    analytics_enabled=False,
                )
                context = gx.get_context(mode="ephemeral", project_config=config)
                asset = context.data_sources.add_pandas("flexpower").add_dataframe_asset(name="frame")
                _GX.batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
                _GX.context = context
    return _GX.context


def _build_suite(name: str, expectations: Sequence[Expectation]):
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=name)
    for e in expectations:
        cls = getattr(gx.expectations, e.type, None)
        if cls is None:
            raise ValueError(f"expectation {e.id}: unknown GX expectation type {e.type!r}")
        suite.add_expectation(cls(**dict(e.kwargs), meta={"id": e.id, "check": e.check, "severity": e.severity}))
    return suite


def validate(frame: pd.DataFrame, expectations: Sequence[Expectation], *, name: str = "suite") -> list[ExpectationResult]:
    """Run ``expectations`` on ``frame`` with GX; one result per expectation, in declaration order."""
    if not expectations:
        return []
    ids = [e.id for e in expectations]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{name}: duplicate expectation ids")
    gx_context()
    df = frame.reset_index(drop=True)
    suite = _build_suite(name, expectations)
    batch = _GX.batch_definition.get_batch(batch_parameters={"dataframe": df})
    validation = batch.validate(suite, result_format={"result_format": "COMPLETE", "partial_unexpected_count": SAMPLE_VALUES})
    by_id: dict[str, Any] = {}
    for r in validation.results:
        meta = r.expectation_config.meta or {}
        by_id[meta.get("id")] = r
    return [_result(e, by_id.get(e.id), df) for e in expectations]


def _result(e: Expectation, r: Any, df: pd.DataFrame) -> ExpectationResult:
    out = ExpectationResult(
        id=e.id, check=e.check, type=e.type, severity=e.severity, description=e.description, passed=False
    )
    if r is None:
        out.error = "GX returned no result for this expectation"
        return out
    res = dict(r.result or {})
    exc = r.exception_info or {}
    if isinstance(exc, dict) and "raised_exception" not in exc:  # keyed by metric when several
        exc = next(iter(exc.values()), {}) if exc else {}
    raised = bool(exc.get("raised_exception")) if isinstance(exc, dict) else False
    out.passed = bool(r.success) and not raised
    if raised:
        out.error = str(exc.get("exception_message") or "exception")
    out.unexpected_count = int(res.get("unexpected_count") or 0)
    out.element_count = res.get("element_count")
    out.unexpected_percent = _num(res.get("unexpected_percent"))
    out.observed = jsonable(res.get("observed_value"))
    values = res.get("partial_unexpected_list") or res.get("unexpected_list") or []
    out.sample_values = jsonable(list(values)[:SAMPLE_VALUES])
    index = res.get("unexpected_index_list") or []
    rows = [i for i in index if not isinstance(i, dict)]
    if rows and not out.passed:
        valid = [i for i in rows if i in df.index]
        out.failing_index = valid
        failing = df.loc[valid]
        out.sample_rows = jsonable(failing.head(SAMPLE_ROWS).to_dict(orient="records"))
        if e.entity and e.entity in failing.columns:
            ents = failing[e.entity].dropna().astype(str).unique().tolist()
            out.failing_entities = sorted(ents)[:MAX_ENTITIES]
    out.gx = _trim_gx(r)
    return out


def _trim_gx(r: Any) -> dict:
    """GX's result for one expectation, with the long lists cut to a sample."""
    d = r.to_json_dict()
    res = d.get("result") or {}
    for key in ("unexpected_list", "unexpected_index_list", "partial_unexpected_index_list", "partial_unexpected_counts"):
        if key in res and isinstance(res[key], list):
            res[key] = res[key][:SAMPLE_VALUES]
    if isinstance((res.get("details") or {}).get("unexpected_rows"), list):
        res["details"]["unexpected_rows"] = res["details"]["unexpected_rows"][:SAMPLE_VALUES]
    if "partial_unexpected_list" in res and isinstance(res["partial_unexpected_list"], list):
        res["partial_unexpected_list"] = res["partial_unexpected_list"][:SAMPLE_VALUES]
    res.pop("unexpected_index_query", None)
    if isinstance(d.get("expectation_config"), dict):
        d["expectation_config"].get("kwargs", {}).pop("batch_id", None)
    return jsonable(d)


# --------------------------------------------------------------------------------------------
# failing rows: GX's UnexpectedRowsExpectation over the warehouse

#: The GX expectation a failing-rows rule is (lib/quality/suites.FailingRows): SQL returning the rows that break it.
FAILING_ROWS_TYPE = "UnexpectedRowsExpectation"
_DAY_PARAM = re.compile(r"\$(day_start|day_end|day)\b")


def validate_failing_rows(conn: Any, day: date, expectations: Sequence[Expectation], *,
                          name: str = "suite") -> list[ExpectationResult]:
    """Failing-rows expectations (``kwargs["unexpected_rows_query"]``: SQL with ``$day``, ``$day_start``, ``$day_end``)
    run as GX ``UnexpectedRowsExpectation`` in the DuckDB warehouse ``conn``, one result per expectation.

    GX's SQL datasource wraps a cursor of ``conn`` (in-memory test warehouses work too); the batch is the day, whose
    parameters are DuckDB variables of that cursor set with bound parameters (``$day`` -> ``getvariable('day')``).
    Each returned row is a failing row: its ``problem`` says what was observed, the ``entity`` column whom it concerns.
    """
    if not expectations:
        return []
    import great_expectations as gx
    from duckdb_engine import ConnectionWrapper
    from sqlalchemy.pool import StaticPool

    from flexpower_dagster.lib.sql import day_params, quote

    class ReadSession(ConnectionWrapper):  # GX fetches rows after SQLAlchemy's rollback, which in DuckDB drops them:
        def begin(self) -> None:  # this session only reads, in autocommit
            pass

        def rollback(self) -> None:
            pass

    context, cursor = gx_context(), conn.cursor()
    # a cursor is a new connection to the same database: it starts in the default catalog, not the one the check's
    # connection USEs (the DuckLake backend attaches the lake and USEs it), so it is pointed at the same one
    (catalog,) = conn.execute("SELECT current_database()").fetchone()
    cursor.execute(f"USE {quote(catalog)}")
    for key, value in day_params(day).items():
        cursor.execute(f"SET VARIABLE {key} = ?", [value])
    source_name = f"warehouse-{threading.get_ident()}-{id(cursor)}"
    source = context.data_sources.add_sql(source_name, connection_string="duckdb:///:memory:",
                                          kwargs={"creator": lambda: ReadSession(cursor), "poolclass": StaticPool})
    try:
        suite = gx.ExpectationSuite(name=name)
        for e in expectations:
            sql = _DAY_PARAM.sub(r"getvariable('\1')", str(e.kwargs["unexpected_rows_query"])).replace("{", "{{").replace("}", "}}")
            suite.add_expectation(gx.expectations.UnexpectedRowsExpectation(
                unexpected_rows_query=f"SELECT * FROM ({sql}) WHERE EXISTS (SELECT * FROM {{batch}})",
                meta={"id": e.id, "check": e.check, "severity": e.severity}))
        batch = source.add_query_asset("day", query="SELECT getvariable('day') AS delivery_day") \
            .add_batch_definition_whole_table("day").get_batch()
        validation = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    finally:
        context.data_sources.delete(source_name)
        cursor.close()
    by_id = {(r.expectation_config.meta or {}).get("id"): r for r in validation.results}
    return [_failing_rows_result(e, by_id.get(e.id)) for e in expectations]


def _failing_rows_result(e: Expectation, r: Any) -> ExpectationResult:
    """GX's result of a failing-rows expectation: the rows are the observation (their ``problem``, per ``entity``)."""
    out = _result(e, r, pd.DataFrame())
    if r is None or out.error or out.passed:
        return out
    rows = jsonable(list(((r.result or {}).get("details") or {}).get("unexpected_rows") or []))
    out.unexpected_count = int((r.result or {}).get("observed_value") or len(rows))
    out.sample_rows = [{k: (None if v is None else str(v)) for k, v in row.items()} for row in rows[:SAMPLE_ROWS]]
    per: dict[Any, list[str]] = {}
    for row in rows:
        per.setdefault(row.get(e.entity) if e.entity else None, []).append(str(row.get("problem", "failing row")))
    if e.entity:
        out.failing_entities = sorted(str(k) for k in per if k is not None)[:MAX_ENTITIES]
        out.entity_observations = {str(k): "; ".join(v) for k, v in sorted(per.items(), key=lambda kv: str(kv[0]))[:MAX_ENTITIES]}
        out.observation = "; ".join(f"{k}: {v}" for k, v in out.entity_observations.items())
    else:
        out.observation = "; ".join(dict.fromkeys(per.get(None, [])))
    return out


# --------------------------------------------------------------------------------------------
# JSON helpers


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy/pandas scalars, timestamps and NaN turned into plain JSON values."""
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return jsonable(float(obj))
    if obj is pd.NaT:
        return None
    if isinstance(obj, (pd.Timestamp, datetime, date)):
        return obj.isoformat()
    try:
        if pd.isna(obj):
            return None
    except (TypeError, ValueError):
        pass
    return str(obj)


def _short(v: Any, limit: int = 60) -> str:
    s = v if isinstance(v, str) else json.dumps(jsonable(v), default=str)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def results_json(results: Iterable[ExpectationResult]) -> list[dict]:
    """GX's own (trimmed) validation results, one dict per expectation, for artefacts and metadata."""
    return [dict(r.gx, id=r.id, check=r.check, severity=r.severity, description=r.description) for r in results]
