"""Completeness of a mart against its inputs: a mart never builds green on missing inputs (pure: no Dagster, no GX).

A rule :class:`Needs` says: on a day where any of the ``when`` inputs has rows, the ``needed`` rows must exist
too, e.g. *contracts in force wherever forecasts are staged* (``asset_forecast`` would otherwise hold 0 rows
and pass every other check) or *the mart's own rows wherever its inputs have rows*. :func:`inputs_present`
turns a mart's rules into one failing-rows expectation (:class:`~flexpower_dagster.lib.quality.suites.FailingRows`):
SQL in the warehouse returning one row per missing input and day, with the problem in words::

    staging.crm_contracts has no contract in force on 2025-06-09 while staging.vpp_forecasts has 38016 rows

A rule with an ``entity`` (``asset_id``) compares per entity and names each entity with an input but without
the needed rows (per-entity findings are warnings, docs/quality.md). Counting happens in the warehouse, so
a rule over a table of 14 million forecast rows costs one aggregate, never a pandas frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flexpower_dagster.lib.quality.gx_runner import Severity
from flexpower_dagster.lib.quality.suites import FailingRows
from flexpower_dagster.lib.tables import TableSpec

_DAY_TEXT = "strftime(CAST($day AS DATE), '%Y-%m-%d')"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Rows:
    """The rows of one table on the delivery day that a rule counts: ``where`` (SQL over the table's columns,
    may use ``$day``/``$day_start``/``$day_end``) narrows them; ``noun`` names them in problems
    (``has 38016 rows``), ``none`` their absence (``has no contract in force``)."""

    table: TableSpec
    noun: str = "rows"
    where: str = "true"
    none: str | None = None

    @property
    def name(self) -> str:
        return self.table.qualified_name

    @property
    def absent(self) -> str:
        return self.none or f"no {self.noun}"

    def select(self, entity: str | None = None) -> str:
        """``SELECT [entity AS _e,] count(*) AS n`` of the day's rows (one row; per entity when given)."""
        day = f"{self.table.partition_column} = CAST($day AS DATE)"
        if entity is None:
            return f"SELECT count(*) AS n FROM {self.name} WHERE {day} AND ({self.where})"
        return (f'SELECT "{entity}" AS _e, count(*) AS n FROM {self.name} WHERE {day} AND ({self.where}) '
                f'AND "{entity}" IS NOT NULL GROUP BY 1')


@dataclass(frozen=True)
class Needs:
    """Rows of ``needed`` (any of them, when several) are expected on a day where any of ``when`` has rows;
    with ``entity``: per entity (each entity with ``when`` rows needs ``needed`` rows of its own)."""

    needed: Rows | tuple[Rows, ...]
    when: Rows | tuple[Rows, ...]
    entity: str | None = None

    @property
    def needed_rows(self) -> tuple[Rows, ...]:
        return self.needed if isinstance(self.needed, tuple) else (self.needed,)

    @property
    def when_rows(self) -> tuple[Rows, ...]:
        return self.when if isinstance(self.when, tuple) else (self.when,)

    @property
    def tables(self) -> tuple[TableSpec, ...]:
        return tuple(r.table for r in (*self.needed_rows, *self.when_rows))

    @property
    def missing_input(self) -> str:
        return " / ".join(r.name for r in self.needed_rows)

    def describe(self) -> str:
        needed = " or ".join(f"{r.noun} in {r.name}" for r in self.needed_rows)
        when = " or ".join(f"{r.name} has {r.noun}" for r in self.when_rows)
        per = f" for every {self.entity}" if self.entity else ""
        return f"{needed}{per} wherever {when} on the day"

    def _absent_text(self) -> str:
        parts = [f"{r.name} has {r.absent}" for r in self.needed_rows]
        return parts[0] if len(parts) == 1 else "neither " + " nor ".join(p for p in parts)

    def sql(self) -> str:
        """The failing rows of the day: ``delivery_day``, [entity,] ``missing_input``, ``present_inputs``, ``problem``."""
        if self.entity:
            return self._sql_per_entity()
        counts = ", ".join(
            [f"({r.select()}) AS need_{i}" for i, r in enumerate(self.needed_rows)]
            + [f"({r.select()}) AS have_{i}" for i, r in enumerate(self.when_rows)]
        )
        present = ", ".join(
            f"CASE WHEN have_{i} > 0 THEN {_lit(r.name + ' has ')} || have_{i} || {_lit(' ' + r.noun)} END"
            for i, r in enumerate(self.when_rows)
        )
        no_need = " AND ".join(f"need_{i} = 0" for i in range(len(self.needed_rows)))
        some = " OR ".join(f"have_{i} > 0" for i in range(len(self.when_rows)))
        return f"""
            SELECT CAST($day AS DATE) AS delivery_day, {_lit(self.missing_input)} AS missing_input,
                   concat_ws(', ', {present}) AS present_inputs,
                   {_lit(self._absent_text() + ' on ')} || {_DAY_TEXT} || ' while ' || concat_ws(', ', {present}) AS problem
            FROM (SELECT {counts}) c
            WHERE {no_need} AND ({some})"""

    def _sql_per_entity(self) -> str:
        e = self.entity
        have = " UNION ALL ".join(
            f"SELECT _e, {i} AS i, {_lit(r.name + ' has ')} || n || {_lit(' ' + r.noun)} AS what FROM ({r.select(e)})"
            for i, r in enumerate(self.when_rows)
        )
        need = " UNION ALL ".join(f"SELECT _e FROM ({r.select(e)}) WHERE n > 0" for r in self.needed_rows)
        return f"""
            SELECT CAST($day AS DATE) AS delivery_day, h._e AS "{e}", {_lit(self.missing_input)} AS missing_input,
                   string_agg(h.what, ', ' ORDER BY h.i) AS present_inputs,
                   {_lit(self._absent_text() + ' on ')} || {_DAY_TEXT} || ' while ' || string_agg(h.what, ', ' ORDER BY h.i)
                       AS problem
            FROM ({have}) h
            WHERE h._e NOT IN (SELECT _e FROM ({need}))
            GROUP BY h._e"""


def inputs_present(needs: Sequence[Needs], *, check: str, severity: Severity, id: str = "inputs-present",
                   description: str | None = None) -> FailingRows:
    """One failing-rows expectation over every rule of ``needs`` (one GX validation per mart and check):
    its rows are the inputs missing on the day (per entity when the rules have one, all the same entity)."""
    entities = {n.entity for n in needs}
    if len(entities) != 1:
        raise ValueError("inputs_present: all rules per day, or all per the same entity")
    (entity,) = entities
    cols = "delivery_day, " + (f'"{entity}", ' if entity else "") + "missing_input, present_inputs, problem"
    sql = "\nUNION ALL\n".join(f"SELECT {cols} FROM ({n.sql()})" for n in needs)
    if entity:
        sql = f"SELECT * FROM ({sql}) ORDER BY \"{entity}\", missing_input"
    tables: dict[str, TableSpec] = {}
    for n in needs:
        for t in n.tables:
            tables.setdefault(t.qualified_name, t)
    text = description or "inputs present: " + "; ".join(n.describe() for n in needs)
    return FailingRows(id=id, sql=sql, description=text, check=check, severity=severity, tables=tuple(tables.values()),
                       entity=entity)


__all__ = ["Needs", "Rows", "inputs_present"]
