"""Staging asset factory: one partitioned asset per landing source (:class:`StagingSource`).

The asset for delivery day D runs :func:`flexpower_dagster.lib.landing.load.load_day` over the landing
zone, records the files it rejected in ``staging.rejected_files`` (file, row, rule, reason, seen at)
and returns the day's rows; the warehouse IO manager replaces the partition atomically.
"""


from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg
import pandas as pd

from flexpower_dagster.lib.dagster.metadata import partition_day, quantities, table_metadata
from flexpower_dagster.lib.dagster.partitions import DAILY_TAGS, daily_partitions
from flexpower_dagster.lib.dagster.resources import LandingZone, Warehouse
from flexpower_dagster.lib.landing.files import scan
from flexpower_dagster.lib.landing.load import Validator, load_day
from flexpower_dagster.lib.landing.source import REJECTED_FILES, DayLoad, Rejection, SourceSpec
from flexpower_dagster.lib.quality.suites import Suite
from flexpower_dagster.lib.warehouse import read_partitions, replace_partitions


@dataclass(frozen=True)
class StagingSource:
    """A landing source as a staging asset: its :class:`SourceSpec` plus what the asset needs besides
    the files.

    ``suite``: the data-quality suite of its staging table (the checks are built beside the asset);
    ``summarize(frame)``: source-specific materialisation metadata (e.g. MWh totals);
    ``validated_with``: other assets the validation reads for the same day (input name -> asset key),
    and ``make_validator(day, inputs)`` the per-file validator built from them (e.g. metering points
    known to the day's contracts).
    """

    spec: SourceSpec
    suite: Suite | None = None
    summarize: Callable[[pd.DataFrame], dict] | None = None
    validated_with: Mapping[str, dg.AssetKey] = field(default_factory=dict)
    make_validator: Callable[[date, Mapping[str, pd.DataFrame]], Validator] | None = None

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey(["staging", self.spec.name])


def record_rejections(warehouse: Warehouse, source: str, day: date, rejected: list[Rejection]) -> None:
    """Replace the rejected-file rows of (source, day) with this load's rejections."""
    seen_at = datetime.now(UTC).replace(tzinfo=None)
    frame = REJECTED_FILES.conform(
        pd.DataFrame(
            {
                "delivery_day": [pd.Timestamp(day)] * len(rejected),
                "source": [source] * len(rejected),
                "file": [r.file for r in rejected],
                "row": [r.row for r in rejected],
                "rule": [r.rule for r in rejected],
                "reason": [r.reason for r in rejected],
                "seen_at": [seen_at] * len(rejected),
            }
        )
    )
    with warehouse.connect() as conn:
        replace_partitions(conn, REJECTED_FILES, [day], frame, where={"source": source})


def load_metadata(load: DayLoad) -> dict:
    md: dict = {
        "files_used": len(load.files_used),
        "files_rejected": len(load.rejected),
        "duplicate_files_ignored": len(load.duplicates),
        "superseded_files": len(load.superseded),
        "carried_forward_rows": load.carried_forward_rows,
    }
    if load.files_used:
        md["files"] = dg.MetadataValue.md("\n".join(f"- `{n}`" for n in load.files_used[:50]) + (f"\n- … and {len(load.files_used) - 50} more" if len(load.files_used) > 50 else ""))
    if load.rejected:
        md["rejected"] = dg.MetadataValue.md(
            "| file | row | rule | reason |\n|---|---|---|---|\n"
            + "\n".join(f"| `{r.file}` | {r.row if r.row is not None else ''} | {r.rule} | {r.reason} |" for r in load.rejected)
        )
    if load.duplicates:
        md["duplicates"] = dg.MetadataValue.md("\n".join(f"- `{a}` = `{b}` (kept)" for a, b in load.duplicates))
    return md


def build_staging_asset(source: StagingSource) -> dg.AssetsDefinition:
    """A daily-partitioned asset ``staging/<name>`` loading the source's files for the day."""
    spec = source.spec

    @dg.asset(
        key=source.key,
        partitions_def=daily_partitions,
        ins={name: dg.AssetIn(key=key) for name, key in source.validated_with.items()},
        group_name=f"staging_{spec.system}",
        tags=DAILY_TAGS,
        kinds={"duckdb", "pandas"},
        description=spec.description or spec.table.description,
        metadata=table_metadata(spec.table),
        automation_condition=None,
    )
    def _staging(
        context: dg.AssetExecutionContext, landing: LandingZone, warehouse: Warehouse, **inputs: pd.DataFrame
    ) -> dg.Output[pd.DataFrame]:
        day = partition_day(context)
        with warehouse.connect(log=context.log.info) as conn:
            previous = read_partitions(conn, spec.table, [day])
        validator = source.make_validator(day, inputs) if source.make_validator else None
        inventory = scan(landing.path, [spec], settle_seconds=landing.settle_seconds)
        load = load_day(
            spec, landing.path, day, previous=previous, validate=validator, files=inventory.files[spec.name],
            manifest=landing.manifest(),
        )
        record_rejections(warehouse, spec.name, day, load.rejected)
        for r in load.rejected:
            context.log.warning(f"rejected {r.file}: {r.reason}")
        md = load_metadata(load)
        if inventory.waiting:  # complete files are loaded now; these follow when their writers are done
            md["files_still_being_written"] = len(inventory.waiting)
            context.log.info(f"{len(inventory.waiting)} file(s) still being written, e.g. {inventory.waiting[0]}")
        for name, reason in inventory.refused:
            context.log.warning(f"not read: {name}: {reason}")
        if source.summarize is not None and len(load.frame):
            md.update(source.summarize(load.frame))
        return dg.Output(load.frame, metadata=quantities(md))

    return _staging
