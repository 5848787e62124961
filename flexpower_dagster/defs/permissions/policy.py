"""The data permissions policy, loaded from ``policy.toml`` and checked against the declared tables (pure: no
Dagster, no DuckDB).

The policy is data (``policy.toml`` beside this module): audience -> tables -> allowed columns -> row filter. This
module turns it into :class:`Policy` and refuses anything it cannot enforce: an unknown table or column, a row
filter a table cannot carry, a scoped audience (a customer) granted a table without a row filter, an identifier
that is not a plain name. Deny by default: what an audience does not list, it does not get.

* :func:`declared_tables` — every warehouse table, from the domains' ``tables.py`` modules and the lib tables
  (plus the one view), so the policy can be checked against what exists and nothing is forgotten
  (:func:`unclassified`);
* :func:`load_policy` — the checked policy; :meth:`Policy.resolve` — an audience name (``trading``,
  ``customer:<e-mail>``) to its :class:`Grantee` (grants + scope) or an error.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flexpower_dagster.lib.tables import TableSpec

POLICY_FILE = Path(__file__).with_name("policy.toml")

#: Row filters a grant may name, with the columns the table must have for it (the SQL is in snapshot.py).
ROW_FILTER_COLUMNS: dict[str, tuple[str, ...]] = {
    "asset": ("delivery_day", "asset_id"),
    "contract": ("contract_id",),
    "customer": ("email",),
}
#: Scopes an audience template may have; ``customer`` row filters need a customer scope (an e-mail).
SCOPES = ("customer", "contract", "asset")
#: Row filters each scope kind supports: a contract or asset scope must not widen to the customer's other rows.
SCOPE_ROW_FILTERS: dict[str, tuple[str, ...]] = {
    "customer": ("asset", "contract", "customer"),
    "contract": ("asset", "contract"),
    "asset": ("asset", "contract"),
}

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_AUDIENCE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
#: Views of the warehouse that have no TableSpec (classified like tables, copied only with "everything").
VIEWS = ("marts.data_quality_checks",)
#: lib modules that declare warehouse tables (the domains declare theirs in ``defs/<domain>/tables.py``).
LIB_TABLE_MODULES = ("flexpower_dagster.lib.quality.results", "flexpower_dagster.lib.landing.source")


class PolicyError(ValueError):
    """The policy names something that does not exist or cannot be enforced."""


def declared_tables() -> dict[str, TableSpec | None]:
    """Every warehouse object by qualified name: the TableSpecs of ``defs/<domain>/tables.py`` and the lib
    modules, and the views (None: no spec)."""
    import flexpower_dagster.defs as defs_package

    modules = [
        f"{defs_package.__name__}.{info.name}.tables"
        for info in pkgutil.iter_modules(defs_package.__path__)
        if info.ispkg and (Path(defs_package.__path__[0]) / info.name / "tables.py").exists()
    ]
    found: dict[str, TableSpec | None] = {}
    for name in [*modules, *LIB_TABLE_MODULES]:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, TableSpec):
                found[value.qualified_name] = value
    for view in VIEWS:
        found[view] = None
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class Grant:
    """One table an audience may read: ``columns`` in order (every declared column for ``*``), ``rows`` the row
    filter (None: every row)."""

    table: str
    columns: tuple[str, ...]
    all_columns: bool
    rows: str | None = None

    @property
    def schema(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.table.split(".", 1)[1]


@dataclass(frozen=True)
class Audience:
    """An audience of the policy; ``scope`` set: a template (``customer`` -> ``customer:<e-mail>``)."""

    name: str
    description: str
    grants: Mapping[str, Grant] = field(default_factory=dict)
    everything: bool = False
    scope: str | None = None

    @property
    def internal(self) -> bool:
        return self.scope is None


@dataclass(frozen=True)
class Grantee:
    """A resolved audience: its policy entry and, for a scoped audience, the scope value (e.g. the e-mail)."""

    audience: Audience
    scope_value: str | None = None

    @property
    def name(self) -> str:
        return self.audience.name if self.scope_value is None else f"{self.audience.name}:{self.scope_value}"

    @property
    def scope(self) -> str | None:
        return self.audience.scope


@dataclass(frozen=True)
class Policy:
    audiences: Mapping[str, Audience]
    data_engineering_only: Mapping[str, str]
    tables: Mapping[str, TableSpec | None]
    sha256: str

    def internal_audiences(self) -> list[Audience]:
        return [a for a in self.audiences.values() if a.internal]

    def classified(self) -> set[str]:
        """Tables someone decided about: granted to an audience or kept for data-engineering."""
        return {t for a in self.audiences.values() for t in a.grants} | set(self.data_engineering_only)

    def resolve(self, name: str) -> Grantee:
        """``trading`` -> the internal audience; ``customer:<e-mail>`` -> the customer template with that scope."""
        kind, sep, value = name.partition(":")
        audience = self.audiences.get(kind)
        if audience is None:
            raise PolicyError(f"unknown audience {name!r} (the policy has {', '.join(self.audiences)})")
        if audience.internal:
            if sep:
                raise PolicyError(f"audience {kind!r} takes no scope value: {name!r}")
            return Grantee(audience)
        value = value.strip()
        if not value:
            raise PolicyError(f"audience {kind!r} needs a {audience.scope}: {kind}:<{audience.scope}>")
        if audience.scope == "customer":
            value = value.lower()  # a customer is the contract's e-mail; e-mail addresses compare case-blind
        return Grantee(audience, value)


def _columns(table: str, spec: TableSpec | None, raw, where: str) -> tuple[tuple[str, ...], bool]:
    if spec is None:
        raise PolicyError(f"{where}: {table} is a view; views are not granted (data-engineering copies them)")
    if raw == "*":
        return tuple(spec.column_names), True
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) for c in raw):
        raise PolicyError(f'{where}: columns of {table} must be "*" or a non-empty list of column names')
    bad = [c for c in raw if not _IDENTIFIER.fullmatch(c)]
    if bad:
        raise PolicyError(f"{where}: {table}: not a column name: {bad}")
    unknown = [c for c in raw if c not in spec.column_names]
    if unknown:
        raise PolicyError(f"{where}: {table} has no column(s) {unknown} (declared: {', '.join(spec.column_names)})")
    if len(set(raw)) != len(raw):
        raise PolicyError(f"{where}: {table}: a column is listed twice")
    order = {c: i for i, c in enumerate(spec.column_names)}
    return tuple(sorted(raw, key=order.__getitem__)), False


def _grant(table: str, raw, spec: TableSpec | None, audience: str, scope: str | None) -> Grant:
    where = f"audience {audience}"
    rows = None
    if isinstance(raw, dict):
        extra = set(raw) - {"columns", "rows"}
        if extra:
            raise PolicyError(f"{where}: {table}: unknown key(s) {sorted(extra)} (columns, rows)")
        rows = raw.get("rows")
        raw = raw.get("columns", "*")
    columns, everything = _columns(table, spec, raw, where)
    if rows is not None:
        if scope is None:
            raise PolicyError(f"{where}: {table}: a row filter needs a scoped audience (scope = ...); internal audiences see every row")
        if rows not in SCOPE_ROW_FILTERS[scope]:
            raise PolicyError(f"{where}: {table}: row filter {rows!r} is not one of {SCOPE_ROW_FILTERS[scope]} for a {scope} scope")
        lacking = [c for c in ROW_FILTER_COLUMNS[rows] if c not in spec.column_names]
        if lacking:
            raise PolicyError(f"{where}: {table} cannot be filtered by {rows}: it has no {lacking}")
    elif scope is not None:
        raise PolicyError(
            f"{where}: {table} has no row filter: a scoped audience sees only its own rows (rows = {list(SCOPE_ROW_FILTERS[scope])})"
        )
    return Grant(table, columns, everything, rows)


def parse_policy(data: Mapping, tables: Mapping[str, TableSpec | None] | None = None, sha256: str = "") -> Policy:
    """The checked policy from its data (the parsed TOML); ``tables``: what exists (default: :func:`declared_tables`)."""
    tables = declared_tables() if tables is None else tables
    extra = set(data) - {"audiences", "data_engineering_only"}
    if extra:
        raise PolicyError(f"unknown top-level key(s) {sorted(extra)} (audiences, data_engineering_only)")
    audiences: dict[str, Audience] = {}
    for name, raw in (data.get("audiences") or {}).items():
        if not _AUDIENCE.fullmatch(name):
            raise PolicyError(f"audience name {name!r}: lower-case words joined by '-' (it names a file)")
        unknown = set(raw) - {"description", "everything", "scope", "tables"}
        if unknown:
            raise PolicyError(f"audience {name}: unknown key(s) {sorted(unknown)}")
        scope = raw.get("scope")
        if scope is not None and scope not in SCOPES:
            raise PolicyError(f"audience {name}: scope {scope!r} is not one of {SCOPES}")
        everything = bool(raw.get("everything", False))
        if everything and (scope is not None or raw.get("tables")):
            raise PolicyError(f"audience {name}: 'everything' stands alone (no scope, no tables)")
        grants = {}
        for table, grant in (raw.get("tables") or {}).items():
            if table not in tables:
                raise PolicyError(f"audience {name}: unknown table {table!r}")
            grants[table] = _grant(table, grant, tables[table], name, scope)
        if not everything and not grants:
            raise PolicyError(f"audience {name}: no tables (and not 'everything')")
        audiences[name] = Audience(name, str(raw.get("description", "")).strip(), grants, everything, scope)
    if not audiences:
        raise PolicyError("the policy has no audience")
    de_only = dict(data.get("data_engineering_only") or {})
    unknown = sorted(t for t in de_only if t not in tables)
    if unknown:
        raise PolicyError(f"data_engineering_only: unknown table(s) {unknown}")
    granted = sorted(t for a in audiences.values() for t in a.grants if t in de_only)
    if granted:
        raise PolicyError(f"data_engineering_only: {granted} are granted to an audience as well")
    return Policy(audiences, de_only, dict(tables), sha256)


def load_policy(path: str | Path = POLICY_FILE, tables: Mapping[str, TableSpec | None] | None = None) -> Policy:
    raw = Path(path).read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: {exc}") from exc
    return parse_policy(data, tables, hashlib.sha256(raw).hexdigest())


def unclassified(policy: Policy, names: list[str] | set[str] | None = None) -> list[str]:
    """Warehouse objects (default: every declared table) nobody decided about: neither granted nor kept for
    data-engineering. Must be empty."""
    names = policy.tables if names is None else names
    return sorted(set(names) - policy.classified())
