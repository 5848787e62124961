"""The fast path: which marts a landing sensor's run carries along with the staging assets it requests.

A file that moves the trading desk's position (a forecast version, a trade export, an imbalance price estimate) must
reach ``marts/position_qh`` within seconds. Staging it in one run and leaving the marts to the automation costs a
second run per day (its queue wait, process start and the automation's tick: docs/benchmarks.md, "Trading desk
latency"). So the source sensors request, per delivery day, **one run**: the changed staging assets plus every mart
on a path from them to a *fast target* (the position) — e.g. ``vpp_forecasts`` -> ``asset_forecast`` ->
``portfolio_forecast`` -> ``position_qh``. Dagster orders the steps; the data-quality checks of each asset ride
along, so a failing blocking check skips the rest of the path as it would in any run. The other marts of the day
(infeed, imbalance, performance, the invoices and the site) follow through automation, off the critical path.

A mart is carried only when the automation would run it too: each of its inputs is in the run or already has the
day's partition (``~any_deps_missing``); otherwise it is left to the automation, which waits for the input
(:meth:`FastPaths.selection`). A first forecast on an empty warehouse, before any CRM snapshot, is staged alone.

:func:`paths_to` is the rule (pure, over a dependency map); :func:`fast_paths` reads the map from definitions.
"""

from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import dagster as dg

K = TypeVar("K", bound=Hashable)


def paths_to(deps: Mapping[K, Collection[K]], sources: Iterable[K], targets: Collection[K],
             carried: Collection[K]) -> dict[K, tuple[K, ...]]:
    """Per source: the nodes of ``carried`` that lie on a path from the source to a target (the targets included),
    in dependency order (upstream first, then by name). ``deps`` maps a node to the nodes it reads.

    A node is on a path when it is downstream of the source and upstream of (or is) a target; only ``carried`` nodes
    are returned (the marts: another system's staging asset is that system's sensor's business)."""
    downstream: dict[K, set[K]] = {}
    for node, parents in deps.items():
        for parent in parents:
            downstream.setdefault(parent, set()).add(node)
    upstream_of_targets: set[K] = set()
    stack = list(targets)
    while stack:
        node = stack.pop()
        if node in upstream_of_targets:
            continue
        upstream_of_targets.add(node)
        stack.extend(deps.get(node, ()))
    order = _topological(deps)
    out: dict[K, tuple[K, ...]] = {}
    for source in sources:
        reached: set[K] = set()
        stack = list(downstream.get(source, ()))
        while stack:
            node = stack.pop()
            if node in reached:
                continue
            reached.add(node)
            stack.extend(downstream.get(node, ()))
        on_path = reached & upstream_of_targets & set(carried)
        out[source] = tuple(sorted(on_path, key=lambda n: (order[n], str(n))))
    return out


def _topological(deps: Mapping[K, Collection[K]]) -> dict[K, int]:
    """Node -> rank, every node after the nodes it reads (a dependency cycle is an error)."""
    rank: dict[K, int] = {}
    visiting: set[K] = set()

    def visit(node: K) -> int:
        if node in rank:
            return rank[node]
        if node in visiting:
            raise ValueError(f"dependency cycle through {node!r}")
        visiting.add(node)
        rank[node] = 1 + max((visit(p) for p in deps.get(node, ())), default=-1)
        visiting.discard(node)
        return rank[node]

    for node in list(deps):
        visit(node)
    return rank


@dataclass(frozen=True)
class FastPaths:
    """Per staging source name: the marts its sensor runs may carry; ``deps``: what each of those marts reads."""

    paths: Mapping[str, tuple[dg.AssetKey, ...]]
    deps: Mapping[dg.AssetKey, frozenset[dg.AssetKey]]
    rank: Mapping[dg.AssetKey, int]  # dependency order: every mart after the marts it reads

    def only(self, sources: Iterable[str]) -> "FastPaths":
        keep = set(sources)
        return FastPaths({k: v for k, v in self.paths.items() if k in keep}, self.deps, self.rank)

    def selection(self, sources: Sequence[str], has_partition: Callable[[dg.AssetKey], bool]) -> list[dg.AssetKey]:
        """The run's asset selection for the day: the staging assets of ``sources``, then each mart on their paths
        (upstream first) whose inputs are all in the run or have the day's partition (``has_partition``)."""
        selection = [dg.AssetKey(["staging", s]) for s in sources]
        marts = {k for s in sources for k in self.paths.get(s, ())}
        for key in sorted(marts, key=lambda k: (self.rank[k], k.to_user_string())):
            if all(d in selection or has_partition(d) for d in self.deps.get(key, ())):
                selection.append(key)
        return selection


def fast_paths(defs: dg.Definitions, targets: Collection[dg.AssetKey]) -> FastPaths:
    """Staging source name (``staging/<name>``) -> the marts a sensor run of it carries to ``targets``."""
    deps: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    for assets_def in defs.assets or ():
        for spec in getattr(assets_def, "specs", ()):
            deps[spec.key] = {d.asset_key for d in spec.deps}
    missing = [t.to_user_string() for t in targets if t not in deps]
    if missing:
        raise ValueError(f"fast-path target(s) {missing} are not defined")
    staging = [k for k in deps if k.path[0] == "staging"]
    marts = [k for k in deps if k.path[0] != "staging"]
    paths = {k.path[-1]: path for k, path in paths_to(deps, staging, set(targets), marts).items() if path}
    carried = {k for path in paths.values() for k in path}
    rank = _topological(deps)
    return FastPaths(paths, {k: frozenset(deps[k]) for k in carried}, {k: rank[k] for k in carried})
