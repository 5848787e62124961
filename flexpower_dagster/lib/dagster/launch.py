"""Run a job of the code location in this process, as a run the UI can re-execute (``make run``).

``JobDefinition.execute_in_process`` records a run without an origin: the UI lists it as "Manually launched",
and its Re-execute fails, because the webserver re-executes a run through the code location it came from.
:func:`execute_job` therefore creates the run the way a launch from the UI does — for a job that the code
location defines, with the code location's name (:data:`CODE_LOCATION`, the ``location_name`` of
workspace.yaml) and the job's Python origin — and then executes it here, one step after the other, as a run
worker would. The webserver then finds the run's job in its code location: Re-execute works, and the run's
snapshot matches the loaded job as long as the definitions are the same.

Two Dagster internals are used for this (``dagster._core``: the origin classes and ``execute_run``, the
body of ``dagster api execute_run``); ``tests/ui`` re-executes such runs through the webserver.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.definitions.repository_definition.valid_definitions import SINGLETON_REPOSITORY_NAME
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._core.execution.api import create_execution_plan, execute_run
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin

#: The code location's name: ``location_name`` in workspace.yaml (``make dev``) and ``code_location_name``
#: in pyproject.toml (``dg dev``); runs of ``make run`` name it as their origin.
CODE_LOCATION = "flexpower_dagster"
#: The module and attribute holding the code location's ``Definitions``.
DEFINITIONS_MODULE = "flexpower_dagster.definitions"
DEFINITIONS_ATTRIBUTE = "defs"


@dataclass(frozen=True)
class RunRecord:
    """A finished run and its events, read back from the instance."""

    run: dg.DagsterRun
    events: list[DagsterEvent]

    @property
    def success(self) -> bool:
        return self.run.status == dg.DagsterRunStatus.SUCCESS

    def of_type(self, event_type: DagsterEventType) -> list[DagsterEvent]:
        return [e for e in self.events if e.event_type == event_type]

    @property
    def step_failures(self) -> list[DagsterEvent]:
        return self.of_type(DagsterEventType.STEP_FAILURE)

    @property
    def skipped_steps(self) -> list[str]:
        return [e.step_key or "?" for e in self.of_type(DagsterEventType.STEP_SKIPPED)]

    @property
    def check_evaluations(self) -> list[dg.AssetCheckEvaluation]:
        return [e.event_specific_data for e in self.of_type(DagsterEventType.ASSET_CHECK_EVALUATION)]


def job_origin(job_name: str) -> RemoteJobOrigin:
    """The origin a run of ``job_name`` launched from the UI of this code location would carry."""
    repository = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin(CODE_LOCATION), SINGLETON_REPOSITORY_NAME)
    return RemoteJobOrigin(repository, job_name)


def execute_job(
    instance: dg.DagsterInstance,
    job_name: str,
    *,
    partition_key: str | None = None,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping | None = None,
) -> RunRecord:
    """Create a run of the code location's job ``job_name`` and execute it in this process (see module doc).

    Failures of steps or checks are recorded in the run (``raise_on_error=False``), never raised."""
    repository = ReconstructableRepository.for_module(DEFINITIONS_MODULE, DEFINITIONS_ATTRIBUTE)
    recon_job = repository.get_reconstructable_job(job_name)
    job_def = recon_job.get_definition()
    run_tags = {**job_def.run_tags, **(tags or {})}
    if partition_key is not None:
        if job_def.partitions_def is None or partition_key not in job_def.partitions_def.get_partition_keys():
            raise ValueError(f"{job_name}: {partition_key!r} is not one of its partitions")
        run_tags.update(job_def.get_tags_for_partition_key(partition_key, selected_asset_keys=None))
    config = dict(run_config or {})
    plan = create_execution_plan(recon_job, run_config=config, instance_ref=instance.get_ref(), tags=run_tags)
    run = instance.create_run_for_job(
        job_def=job_def,
        execution_plan=plan,
        run_config=config,
        tags=run_tags,
        remote_job_origin=job_origin(job_name),
        job_code_origin=recon_job.get_python_origin(),
    )
    execute_run(recon_job, run, instance, raise_on_error=False)
    done = instance.get_run_by_id(run.run_id) or run
    events = [e.dagster_event for e in instance.all_logs(run.run_id) if e.dagster_event is not None]
    return RunRecord(done, events)
