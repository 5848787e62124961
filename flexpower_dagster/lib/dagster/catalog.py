"""The catalogue around the assets: who owns them, how they are grouped, where their code is (docs/ui.md).

:func:`with_catalog` is applied once to the code location's definitions (``definitions.py``, which holds the
one table of owners per group):

* **groups** follow one scheme that reads as the data flows: ``staging_<system>`` (landing files → staging
  tables), ``marts_<domain>`` (the business marts), ``reporting`` (what people open); an asset outside the
  scheme, or in a group without an owner, stops the definitions from loading, naming it;
* **owners**: the group's owner (``team:...``) on every asset;
* **code references**: where the asset's logic is. An asset built by a factory points at the code that
  declares it, not at the factory: a SQL mart at the module-level name it is bound to in its domain's
  ``assets.py`` and at its statement (the :data:`SQL_STATEMENT_KEY` metadata's text, found bound to a name in
  the domain's ``sql.py``; :func:`declaration_references`), a staging asset at its source's parser and
  metadata summary; any other asset at its compute function. Local file paths (the UI links them to the
  checkout). Nothing inspects call frames: the references are found from what the definitions hold.
"""

import fnmatch
import inspect
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import dagster as dg

CODE_REFERENCES_KEY = "dagster/code_references"
#: Definition metadata of a SQL mart: its statement, shown in the UI and referenced in the domain's ``sql.py``.
SQL_STATEMENT_KEY = "SQL statement"
#: The group scheme: staging per source system, marts per domain, and the reporting artefacts.
GROUP_SCHEME = re.compile(r"staging_[a-z][a-z_]*|marts_[a-z][a-z_]*|reporting")
#: Factories live here: a reference into them says nothing about an asset, so such assets get their own.
_LIB = Path(__file__).resolve().parents[1]


def _reference(file_path: str, line_number: int | None, label: str | None) -> dg.LocalFileCodeReference:
    with warnings.catch_warnings():  # code references are "beta" in Dagster 1.13; covered by tests/ui
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.LocalFileCodeReference(file_path=file_path, line_number=line_number, label=label)


def function_reference(fn: Callable, label: str | None = None) -> dg.LocalFileCodeReference | None:
    """The file and first line of ``fn`` (None for objects without Python source)."""
    fn = inspect.unwrap(fn)
    try:
        path = inspect.getsourcefile(fn)
        line = inspect.getsourcelines(fn)[1]
    except (TypeError, OSError):
        return None
    if path is None:
        return None
    return _reference(str(Path(path).resolve()), line, label)


def constant_reference(value: object, module_name: str, label: str | None = None) -> dg.LocalFileCodeReference | None:
    """The line of ``module_name`` where a module-level name bound to ``value`` (e.g. a SQL statement) is assigned."""
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if module is None or path is None:
        return None
    names = [name for name, v in vars(module).items() if _same(v, value) and not name.startswith("__")]
    if not names:
        return None
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    pattern = re.compile(rf"^{re.escape(names[0])}\s*(:[^=]*)?=")
    line = next((i + 1 for i, text in enumerate(lines) if pattern.match(text)), None)
    return _reference(str(Path(path).resolve()), line, label or names[0])


def _same(bound: object, value: object) -> bool:
    """Identity, or equal text (a statement read back from metadata is equal, not necessarily identical)."""
    return bound is value or (isinstance(value, str) and isinstance(bound, str) and bound == value)


def declaration_references(assets_def: dg.AssetsDefinition, package: str) -> list[dg.LocalFileCodeReference | None]:
    """A factory-built asset's declaration: the module under ``package`` that binds it to a module-level name
    (``marts_imbalance = daily_sql_mart(...)`` in ``defs/imbalance/assets.py``), and, for a SQL mart, the
    name its statement is bound to in the same domain's ``sql.py``. Empty when no module binds it."""
    prefix = package + "."
    module_name = next(
        (name for name, module in list(sys.modules.items())
         if name.startswith(prefix) and module is not None and any(v is assets_def for v in vars(module).values())),
        None,
    )
    if module_name is None:
        return []
    refs = [constant_reference(assets_def, module_name, label="declaration")]
    statement = next((s.metadata.get(SQL_STATEMENT_KEY) for s in assets_def.specs if SQL_STATEMENT_KEY in (s.metadata or {})), None)
    if statement is not None:
        refs.append(constant_reference(statement.value, module_name.rpartition(".")[0] + ".sql", label="SQL statement"))
    return refs


def code_references_metadata(refs: Iterable[dg.LocalFileCodeReference | None]) -> dict:
    """``dagster/code_references`` metadata for the given references (None entries dropped)."""
    kept = [r for r in refs if r is not None]
    if not kept:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return {CODE_REFERENCES_KEY: dg.CodeReferencesMetadataValue(code_references=kept)}


def _compute_reference(assets_def: dg.AssetsDefinition) -> dg.LocalFileCodeReference | None:
    op = getattr(assets_def, "op", None)
    fn = getattr(getattr(op, "compute_fn", None), "decorated_fn", None)
    ref = function_reference(fn, label="compute function") if fn is not None else None
    return None if ref is None or Path(ref.file_path).is_relative_to(_LIB) else ref


def owner_of(group: str | None, owners: Mapping[str, str]) -> str | None:
    """The owner of ``group``: an exact entry of ``owners``, else the first matching pattern (``staging_*``)."""
    if group is None:
        return None
    if group in owners:
        return owners[group]
    return next((owner for pattern, owner in owners.items() if fnmatch.fnmatchcase(group, pattern)), None)


def with_catalog(
    defs: dg.Definitions,
    owners: Mapping[str, str],
    references: Mapping[dg.AssetKey, Sequence[dg.LocalFileCodeReference | None]] = {},
    metadata: Mapping[dg.AssetKey, Mapping[str, object]] = {},
    package: str | None = None,
) -> dg.Definitions:
    """``defs`` with every asset's owner (by group) and code references; raises for an asset outside the
    group scheme or in a group without an owner. ``references``: code references of factory-built assets
    that do not declare their own (e.g. the staging assets, by their source's parser); ``metadata``: extra
    definition metadata per asset (e.g. a staging asset's arrival deadline, declared in another domain);
    ``package``: the package under which factory-built assets are declared (:func:`declaration_references`;
    the code location passes its ``defs`` package)."""
    computed: dict[dg.AssetKey, list] = {}
    for assets_def in defs.assets or []:
        if isinstance(assets_def, dg.AssetsDefinition):
            ref = _compute_reference(assets_def)
            refs = [ref] if ref is not None or package is None else declaration_references(assets_def, package)
            for key in assets_def.keys:
                computed[key] = refs
    problems: list[str] = []

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        group = spec.group_name
        owner = owner_of(group, owners)
        if group is None or not GROUP_SCHEME.fullmatch(group):
            problems.append(f"{spec.key.to_user_string()}: group {group!r} is outside the scheme {GROUP_SCHEME.pattern}")
        elif owner is None:
            problems.append(f"{spec.key.to_user_string()}: group {group!r} has no owner in the owners table")
        md = {**(spec.metadata or {}), **metadata.get(spec.key, {})}
        if CODE_REFERENCES_KEY not in md:
            md.update(code_references_metadata(references.get(spec.key) or computed.get(spec.key) or []))
        return spec.replace_attributes(owners=[owner] if owner else [], metadata=md)

    with warnings.catch_warnings():  # map_asset_specs is "preview" in 1.13; its behaviour is covered by tests
        warnings.simplefilter("ignore", dg.PreviewWarning)
        mapped = defs.map_asset_specs(func=apply)
    if problems:
        raise ValueError("asset catalogue: " + "; ".join(problems))
    return mapped
