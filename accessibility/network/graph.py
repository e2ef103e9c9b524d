"""The car graph: CSR arrays, build from OSM (largest SCC, degree-2 contraction), cache on disk.

The graph is a frozen dataclass of numpy arrays. Nodes are the junctions and dead ends of the
road network (the nodes kept after contraction), numbered along a Hilbert curve so that nodes
close on the ground are close in memory. The removed chain nodes are kept as *shape points*:
each one knows the contracted edge(s) it lies on and its time offset from the edge's tail, so a
place can be snapped onto a long mountain road, not only onto a junction kilometres away.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
import zlib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from accessibility.errors import InputFileError, NoDrivableRoadError
from accessibility.inputs.osm import EdgeTable, check_pbf, read_osm_edges
from accessibility.network.derived import DerivedState
from accessibility.settings import Profile, default_cache_dir, embedded_data_dir, load_profile

__all__ = [
    "Graph",
    "BuildReport",
    "EdgeOptions",
    "build_graph",
    "graph_from_edges",
    "load_graph",
    "save_graph",
    "read_graph",
    "default_osm_path",
    "cache_key",
]

log = logging.getLogger(__name__)

#: Bumped whenever the on-disk layout or the build changes; part of the cache key (3: the reduced
#: cores carry metres, the hierarchy's files carry CRCs).
CACHE_FORMAT = 3


@dataclass(frozen=True)
class BuildReport:
    """What the build did, for the CLI summary and the logs.

    Attributes
    ----------
    source : str
        Input file (or ``"edges"`` for graphs made from arrays).
    n_ways : int
        Drivable ways read.
    n_ways_excluded : int
        Drivable-class ways excluded by ``access``/``motor_vehicle`` restrictions.
    nodes_raw, edges_raw : int
        Nodes and directed edges before the component filter and contraction.
    km_raw : float
        Kilometres of road (each way segment once, whatever its directions) before the filter.
    nodes_scc, km_scc : int, float
        Nodes and kilometres in the largest strongly connected component.
    nodes, edges : int
        Nodes and directed edges of the contracted graph.
    build_s : float
        Wall-clock build time (seconds), 0 when loaded from cache.
    from_cache : bool
        Whether the graph was read from the cache.
    source_sha256 : str
        SHA-256 of the source file's bytes ("" for graphs made from arrays).
    profile, profile_sha256 : str
        Name and SHA-256 of the speed profile's text.
    cache_key : str
        Key of the cached graph (hash of the source, profile and cache format).
    """

    source: str
    n_ways: int
    n_ways_excluded: int
    nodes_raw: int
    edges_raw: int
    km_raw: float
    nodes_scc: int
    km_scc: float
    nodes: int
    edges: int
    build_s: float = 0.0
    from_cache: bool = False
    source_sha256: str = ""
    profile: str = ""
    profile_sha256: str = ""
    cache_key: str = ""

    @property
    def share_nodes_kept(self) -> float:
        """Share of the nodes in the largest strongly connected component."""
        return self.nodes_scc / self.nodes_raw if self.nodes_raw else float("nan")

    @property
    def share_km_kept(self) -> float:
        """Share of the road kilometres in the largest strongly connected component."""
        return self.km_scc / self.km_raw if self.km_raw else float("nan")

    @property
    def contraction_ratio(self) -> float:
        """Nodes after contraction over nodes before (in the kept component)."""
        return self.nodes / self.nodes_scc if self.nodes_scc else float("nan")


@dataclass(frozen=True, eq=False)
class Graph:
    """A directed car graph in CSR form.

    Attributes
    ----------
    indptr, indices : np.ndarray of int32
        Forward CSR: the edges leaving node ``u`` are ``indptr[u]:indptr[u+1]``.
    time_s, length_m : np.ndarray of float64
        Travel time (seconds) and length (metres) of each forward edge.
    rev_indptr, rev_indices, rev_time_s : np.ndarray
        The reverse graph (edges pointing into each node), for "time *to*" searches.
    x, y : np.ndarray of float64
        Longitude and latitude (WGS84) of each node.
    chain_tail, chain_head : np.ndarray of int32
        For each contracted chain (a road stretch between two nodes, possibly with shape
        points), its end nodes. Parallel chains are all listed; the CSR keeps the fastest.
    chain_time_s, chain_length_m : np.ndarray of float64
        Time (s) and length (m) of each chain.
    shape_x, shape_y : np.ndarray of float64
        Coordinates of the shape points (nodes removed by the contraction).
    shape_chain : np.ndarray of int32, shape (m, 2)
        The chain(s) each shape point lies on (-1 for an unused second slot).
    shape_offset_s, shape_offset_m : np.ndarray of float64, shape (m, 2)
        Time (s) and length (m) from the chain's tail to the shape point.
    report : BuildReport
        How the graph was built.

    derived : DerivedState
        The graph's derived state (:mod:`accessibility.network.derived`), built on first use:
        :meth:`snap_index`, the grid index of the road vertices used to place points, and
        :meth:`reduced`, the reduced core of the forward or reverse CSR (saved with the graph in
        its cache and read back with it), the contraction hierarchy (saved beside it), the
        cache path and the smaller memos, each a named member.
    """

    indptr: np.ndarray
    indices: np.ndarray
    time_s: np.ndarray
    length_m: np.ndarray
    rev_indptr: np.ndarray
    rev_indices: np.ndarray
    rev_time_s: np.ndarray
    x: np.ndarray
    y: np.ndarray
    chain_tail: np.ndarray
    chain_head: np.ndarray
    chain_time_s: np.ndarray
    chain_length_m: np.ndarray
    shape_x: np.ndarray
    shape_y: np.ndarray
    shape_chain: np.ndarray
    shape_offset_s: np.ndarray
    shape_offset_m: np.ndarray
    report: BuildReport = field(repr=False)
    derived: DerivedState = field(default_factory=DerivedState, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.indptr) - 1

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.indices)

    def snap_index(self):
        """The grid index of the road vertices (nodes, then shape points); see
        :class:`accessibility.network.spatial.SnapIndex` and :func:`accessibility.network.derived.snap_index`."""
        from accessibility.network.derived import snap_index

        return snap_index(self)

    def reduced(self, *, reverse: bool = False):
        """The reduced core of the forward (or reverse) CSR that the routing kernels search and the
        hierarchy contracts; see :class:`accessibility.network.core.ReducedCore`. Built once and
        saved with the graph."""
        from accessibility.network.derived import core

        return core(self, reverse=reverse)

    @property
    def n_vertices(self) -> int:
        """Road vertices a place can snap to: nodes and shape points."""
        return self.n_nodes + len(self.shape_x)

    def to_scipy(self, *, reverse: bool = False):
        """The graph as a ``scipy.sparse.csr_array`` of times (seconds)."""
        from scipy.sparse import csr_array

        if reverse:
            data = (self.rev_time_s, self.rev_indices, self.rev_indptr)
        else:
            data = (self.time_s, self.indices, self.indptr)
        return csr_array(data, shape=(self.n_nodes, self.n_nodes))

    def edge_list(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(u, v, time_s)`` arrays of the forward edges."""
        u = np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))
        return u, self.indices.astype(np.int64), self.time_s

    def __repr__(self) -> str:
        return f"Graph(nodes={self.n_nodes:,}, edges={self.n_edges:,}, shape_points={len(self.shape_x):,})"


# ---------------------------------------------------------------------------------------------
# build


def _csr(u: np.ndarray, v: np.ndarray, n: int, *cols: np.ndarray):
    order = np.lexsort((v, u))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
    return (indptr, v[order]) + tuple(c[order] for c in cols)


def _dedupe_min(u, v, t, ln):
    """Drop self-loops; among parallel edges keep the fastest."""
    keep = u != v
    u, v, t, ln = u[keep], v[keep], t[keep], ln[keep]
    order = np.lexsort((t, v, u))
    u, v, t, ln = u[order], v[order], t[order], ln[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return u[first], v[first], t[first], ln[first]


def _road_km(u, v, ln) -> float:
    lo = np.minimum(u, v)
    hi = np.maximum(u, v)
    key = lo * (int(max(hi.max(initial=0), lo.max(initial=0))) + 1) + hi
    _, idx = np.unique(key, return_index=True)
    return float(ln[idx].sum() / 1000.0)


def _hilbert_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    from accessibility.network._kernels import hilbert_keys

    order = 16
    span_x = max(float(x.max() - x.min()), 1e-12)
    span_y = max(float(y.max() - y.min()), 1e-12)
    side = (1 << order) - 1
    ix = ((x - x.min()) / span_x * side).astype(np.int64)
    iy = ((y - y.min()) / span_y * side).astype(np.int64)
    return np.argsort(hilbert_keys(ix, iy, order), kind="stable")


@dataclass(frozen=True)
class EdgeOptions:
    """Options of :func:`graph_from_edges` beyond ``contract``.

    Attributes
    ----------
    largest_component : bool, default True
        Keep only the largest strongly connected component.
    source : str
        Label for the build report.
    n_ways, n_ways_excluded : int
        Ways read and excluded, for the build report (0 for graphs made from arrays).
    """

    largest_component: bool = True
    source: str = "edges"
    n_ways: int = 0
    n_ways_excluded: int = 0


def graph_from_edges(
    u,
    v,
    time_s,
    *,
    length_m=None,
    x=None,
    y=None,
    contract: bool = True,
    options: EdgeOptions | None = None,
) -> tuple[Graph, np.ndarray]:
    """Build a :class:`Graph` from directed edge arrays.

    Parameters
    ----------
    u, v : array-like of int
        Tail and head of each directed edge, node ids in ``[0, n)``.
    time_s : array-like of float
        Edge travel times (seconds), non-negative.
    length_m : array-like of float, optional
        Edge lengths (metres); zeros when omitted.
    x, y : array-like of float, optional
        Node coordinates (lon/lat); ``n = len(x)``. When omitted, ``n = max(u, v) + 1`` and nodes
        are placed at 0.
    contract : bool, default True
        Contract degree-2 chains (travel times between kept nodes do not change).
    options : EdgeOptions, optional
        The component filter (``largest_component``) and the labels of the build report.

    Returns
    -------
    graph : Graph
    node_ids : np.ndarray of int64
        For each input node id, its node index in the graph, or -1 when it was dropped (outside
        the largest component) or became a shape point.

    Raises
    ------
    NoDrivableRoadError
        There is no edge.
    InvalidParameterError
        Times are negative or not finite, or ids are out of range.
    """
    opt = options or EdgeOptions()
    source = opt.source
    u, v, t, ln, xa, ya = _checked_edges(u, v, time_s, length_m, x, y, source)
    n = len(xa)
    km_raw, edges_raw = _road_km(u, v, ln), len(u)
    nodes_raw = int(np.unique(np.concatenate([u, v])).size)
    in_scc = _largest_component(u, v, n) if opt.largest_component else _present(u, v, n)
    keep_e = in_scc[u] & in_scc[v]
    u, v, t, ln = u[keep_e], v[keep_e], t[keep_e], ln[keep_e]
    if len(u) == 0:
        raise NoDrivableRoadError(
            f"no road is left in {source} once its largest strongly connected component is kept "
            f"({nodes_raw:,} nodes, {edges_raw:,} directed edges, none of them on a loop you can "
            "drive both ways: are all its roads one-way?)"
        )
    km_scc = _road_km(u, v, ln)
    old_of = np.flatnonzero(in_scc)
    new_of = np.full(n, -1, dtype=np.int64)
    new_of[old_of] = np.arange(len(old_of))
    cu, cv, t, ln = _dedupe_min(new_of[u], new_of[v], t, ln)
    chains, contractible = _contract_chains(cu, cv, t, ln, len(old_of), contract)
    kept = np.flatnonzero(~contractible)
    kept = kept[_hilbert_order(xa[old_of[kept]], ya[old_of[kept]])]
    node_of = np.full(len(old_of), -1, dtype=np.int64)
    node_of[kept] = np.arange(len(kept))
    report = BuildReport(
        source=source, n_ways=opt.n_ways, n_ways_excluded=opt.n_ways_excluded, nodes_raw=nodes_raw,
        edges_raw=edges_raw, km_raw=km_raw, nodes_scc=int(in_scc.sum()), km_scc=km_scc,
        nodes=len(kept), edges=0,
    )
    graph = _assemble(chains, contractible, node_of, xa[old_of], ya[old_of], report)
    node_ids = np.full(n, -1, dtype=np.int64)
    node_ids[old_of] = node_of
    return graph, node_ids


def _checked_edges(u, v, time_s, length_m, x, y, source: str):
    """Edge and node arrays as numpy, checked (lengths, times, ids in range)."""
    from accessibility.errors import InvalidParameterError

    try:
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        t = np.asarray(time_s, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError("u, v must be integer node ids and time_s numbers of seconds") from None
    if len(u) == 0:
        raise NoDrivableRoadError(f"no edge to build a graph from ({source})")
    if not (len(u) == len(v) == len(t)):
        raise InvalidParameterError(f"u, v and time_s must have the same length, got {len(u)}, {len(v)}, {len(t)}")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InvalidParameterError("edge times must be finite and >= 0 seconds")
    ln = np.zeros(len(u)) if length_m is None else np.asarray(length_m, dtype=np.float64)
    if x is None:
        n = int(max(u.max(), v.max())) + 1
        xa, ya = np.zeros(n), np.zeros(n)
    else:
        xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        n = len(xa)
    if u.min() < 0 or v.min() < 0 or u.max() >= n or v.max() >= n:
        raise InvalidParameterError(f"edge node ids must be in [0, {n})")
    return u, v, t, ln, xa, ya


def _present(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[u] = True
    out[v] = True
    return out


def _largest_component(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Mask of the nodes of the largest strongly connected component (among nodes with edges)."""
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    adj = coo_array((np.ones(len(u)), (u, v)), shape=(n, n)).tocsr()
    _, labels = connected_components(adj, directed=True, connection="strong")
    present = _present(u, v, n)
    best = int(np.argmax(np.bincount(labels[present])))
    return (labels == best) & present


def _contract_chains(cu, cv, t, ln, nc: int, contract: bool):
    """Chains between kept nodes (walk_chains' arrays) and the mask of contracted nodes."""
    from accessibility.network._kernels import contractible_nodes, walk_chains

    indptr, indices, tt, ll = _csr(cu, cv, nc, t, ln)
    if contract:
        rindptr, rindices = _csr(cv, cu, nc)[:2]
        contractible = contractible_nodes(indptr, indices, rindptr, rindices)
    else:
        contractible = np.zeros(nc, dtype=bool)
    while True:
        res = walk_chains(indptr, indices, tt, ll, contractible)
        if res[7]:
            return res[:7], contractible
        # rings of contractible nodes only: keep them as nodes
        contractible = contractible & (res[4][:, 0] != -1)


def _assemble(chains, contractible, node_of, xs, ys, report: BuildReport) -> Graph:
    """The Graph from the chains: CSR of the fastest chain per node pair, shape points."""
    ch_tail, ch_head, ch_time, ch_len, slot_chain, slot_off_s, slot_off_m = chains
    kept = np.flatnonzero(node_of >= 0)[np.argsort(node_of[node_of >= 0])]
    k_tail, k_head = node_of[ch_tail], node_of[ch_head]
    gu, gv, gt, gl = _dedupe_min(k_tail, k_head, ch_time, ch_len)
    nk = len(kept)
    g_indptr, g_indices, g_time, g_len = _csr(gu, gv, nk, gt, gl)
    r_indptr, r_indices, r_time = _csr(gv, gu, nk, gt)
    shapes = np.flatnonzero(contractible)
    i32 = np.int32
    return Graph(
        indptr=g_indptr.astype(i32), indices=g_indices.astype(i32), time_s=g_time, length_m=g_len,
        rev_indptr=r_indptr.astype(i32), rev_indices=r_indices.astype(i32), rev_time_s=r_time,
        x=xs[kept], y=ys[kept],
        chain_tail=k_tail.astype(i32), chain_head=k_head.astype(i32), chain_time_s=ch_time, chain_length_m=ch_len,
        shape_x=xs[shapes], shape_y=ys[shapes], shape_chain=slot_chain[shapes].astype(i32),
        shape_offset_s=slot_off_s[shapes], shape_offset_m=slot_off_m[shapes],
        report=replace(report, edges=len(g_indices)),
    )


def build_graph(osm_path: str | os.PathLike, *, profile: Profile | None = None) -> Graph:
    """Build the car graph of an ``.osm.pbf`` extract (no cache).

    Parameters
    ----------
    osm_path : str or path-like
        The extract.
    profile : Profile, optional
        Speed profile; the shipped car profile when omitted.

    Returns
    -------
    Graph

    Raises
    ------
    InputFileError, OSMFileError, NoDrivableRoadError
        See :func:`accessibility.inputs.osm.read_osm_edges`.
    """
    t0 = time.perf_counter()
    edges: EdgeTable = read_osm_edges(osm_path, profile=profile)
    g, _ = graph_from_edges(
        edges.u,
        edges.v,
        edges.time_s,
        length_m=edges.length_m,
        x=edges.x,
        y=edges.y,
        options=EdgeOptions(source=str(osm_path), n_ways=edges.n_ways, n_ways_excluded=edges.n_ways_excluded),
    )
    return replace(g, report=replace(g.report, build_s=time.perf_counter() - t0))


# ---------------------------------------------------------------------------------------------
# derived state, checks, save / load / cache
#
# A cached graph is a directory ``graph-<name>-<key>/`` holding ``meta.json`` and one ``.npy``
# file per array: the graph's own arrays, its snapping index (``snap.*``) and the reduced cores
# of its forward and reverse CSR (``core_fwd.*``, ``core_rev.*``). ``meta.json`` records the
# format, the cache key, the source file's sha256, the build report and, per array, its dtype,
# shape and CRC-32. Loading checks the CRCs and the arrays' content (cheap vectorised checks)
# before any kernel sees them; anything wrong and the graph is rebuilt.

_ARRAYS = [f.name for f in fields(Graph) if f.name not in ("report", "derived")]
_META = "meta.json"
#: What a killed save leaves: ``.NAME.partial-PID-HEX`` (staged) or ``.NAME.old-PID-HEX`` (replaced);
#: ``trash`` is the name older versions gave the latter.
_LEFTOVER = re.compile(r"^\..+\.(?:partial|old|trash)-(\d+)-[0-9a-f]+$")


def _derived(graph: Graph) -> dict[str, np.ndarray]:
    """Arrays of the derived state (built when missing), by file stem."""
    out = {f"snap.{k}": v for k, v in graph.snap_index().arrays().items()}
    for tag, rev in (("core_fwd", False), ("core_rev", True)):
        out.update({f"{tag}.{k}": v for k, v in graph.reduced(reverse=rev).to_arrays().items()})
    return out


def save_graph(graph: Graph, path: str | os.PathLike) -> Path:
    """Write a graph and its derived state to a directory, atomically.

    Everything is written into a hidden sibling directory first, then renamed into place; an
    interrupted save leaves nothing behind (and the next :func:`load_graph` removes what a killed
    process left).

    Parameters
    ----------
    graph : Graph
    path : str or path-like
        Directory to create (replaced when it exists).

    Returns
    -------
    Path
    """
    from accessibility._io import staged_dir

    p = Path(path)
    arrays = {name: np.asarray(getattr(graph, name), order="C") for name in _ARRAYS}
    arrays.update({k: np.asarray(v, order="C") for k, v in _derived(graph).items()})
    meta: dict[str, Any] = {
        "format": CACHE_FORMAT,
        "report": {f.name: getattr(graph.report, f.name) for f in fields(BuildReport)},
        "arrays": {},
    }
    with staged_dir(p) as tmp:
        for name, a in arrays.items():
            np.save(tmp / f"{name}.npy", a, allow_pickle=False)
            meta["arrays"][name] = {"dtype": a.dtype.str, "shape": list(a.shape), "crc32": _crc(a)}
        (tmp / _META).write_text(json.dumps(meta, indent=1, default=_jsonable), encoding="utf-8")
    return p


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def _crc(a: np.ndarray) -> int:
    a = np.asarray(a, order="C")
    return zlib.crc32(a.data.cast("B")) if a.size else 0


def read_graph(path: str | os.PathLike, *, mmap: bool = False) -> Graph:
    """Read a graph written by :func:`save_graph`, with its derived state, and check it.

    Parameters
    ----------
    path : str or path-like
        The graph's directory.
    mmap : bool, default False
        Memory-map the arrays (read-only, shared between processes) instead of reading them.

    Raises
    ------
    InputFileError
        The directory is missing, an array is missing or damaged (CRC), the format is another
        version, or the content is inconsistent (see :func:`check_graph`).
    """
    p = Path(path)
    try:
        meta = json.loads((p / _META).read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT:
            raise InputFileError(f"{str(p)!r} is a graph of another format version")
        arrays = {}
        for name, info in meta["arrays"].items():
            a = np.load(p / f"{name}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
            if a.dtype.str != info["dtype"] or list(a.shape) != list(info["shape"]) or _crc(a) != info["crc32"]:
                raise InputFileError(f"graph file {str(p / name)!r}.npy is damaged (size, type or CRC differ)")
            arrays[name] = a
        report = BuildReport(**meta["report"])
        g = Graph(**{n: arrays[n] for n in _ARRAYS}, report=report)
    except InputFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged .npy header can raise SyntaxError, TokenError…
        raise InputFileError(f"cannot read graph {str(p)!r}: {type(exc).__name__}: {exc}") from None
    problem = check_graph(g) or _read_derived(g, arrays)
    if problem is not None:
        raise InputFileError(f"graph {str(p)!r} is inconsistent: {problem}")
    return g


def _read_derived(g: Graph, arrays: dict[str, np.ndarray]) -> str | None:
    """Put the saved snap index and reduced cores on ``g.derived``; the first problem, or None."""
    from accessibility.network.core import ReducedCore
    from accessibility.network.spatial import SnapIndex

    d = g.derived
    try:
        d.snap = SnapIndex.from_arrays({k[5:]: v for k, v in arrays.items() if k.startswith("snap.")})
        cores = []
        for tag in ("core_fwd", "core_rev"):
            sub = {k[len(tag) + 1:]: v for k, v in arrays.items() if k.startswith(tag + ".")}
            cores.append(ReducedCore.from_arrays(sub))
    except (KeyError, ValueError, TypeError) as exc:
        d.snap = None
        return f"derived state missing or malformed ({exc})"
    problem = d.snap.check()
    if problem is None and d.snap.n_vertices != g.n_nodes + len(g.shape_x):
        problem = "snap index does not index this graph's vertices"
    for c in cores:
        problem = problem or c.check(g.n_nodes)
    if problem is None:
        d.core_fwd, d.core_rev = cores
    else:
        d.snap = None
    return problem


def _csr_problem(indptr, indices, n: int, m: int, what: str) -> str | None:
    if indptr.ndim != 1 or len(indptr) != n + 1:
        return f"{what} pointer has the wrong length"
    if indptr[0] != 0 or indptr[-1] != m or len(indices) != m:
        return f"{what} pointer does not span its edges"
    if np.any(np.diff(indptr) < 0):
        return f"{what} pointer is not monotone"
    if m and (indices.min() < 0 or indices.max() >= n):
        return f"{what} has a node id out of range"
    return None


def _times_problem(a, what: str, m: int) -> str | None:
    if a.ndim != 1 or len(a) != m:
        return f"{what} has the wrong length"
    if m and not (np.all(np.isfinite(a)) and a.min() >= 0):
        return f"{what} holds negative, NaN or infinite values"
    return None


def check_graph(g: Graph) -> str | None:
    """The first inconsistency of a graph's arrays, or None.

    Cheap vectorised checks (about 10 ms on the embedded graph) that keep damaged arrays away
    from the kernels: CSR pointers monotone and spanning their edges, node ids in range, times
    and lengths finite and >= 0, the reverse CSR holding the same in-degrees and total time,
    coordinates in range, chains and shape points consistent.
    """
    n = len(g.indptr) - 1
    m = len(g.indices)
    if n < 1:
        return "no node"
    problem = (
        _csr_problem(g.indptr, g.indices, n, m, "forward CSR")
        or _csr_problem(g.rev_indptr, g.rev_indices, n, m, "reverse CSR")
        or _times_problem(g.time_s, "edge times", m)
        or _times_problem(g.length_m, "edge lengths", m)
        or _times_problem(g.rev_time_s, "reverse edge times", m)
    )
    if problem:
        return problem
    if not np.array_equal(np.bincount(g.indices, minlength=n), np.diff(g.rev_indptr)):
        return "reverse CSR does not hold the forward edges"
    if not np.isclose(float(g.time_s.sum()), float(g.rev_time_s.sum()), rtol=1e-9, atol=1e-6):
        return "reverse CSR times differ from the forward ones"
    if len(g.x) != n or len(g.y) != n or not (np.all(np.abs(g.x) <= 180) and np.all(np.abs(g.y) <= 90)):
        return "node coordinates missing or out of range"
    c = len(g.chain_tail)
    if not (len(g.chain_head) == len(g.chain_time_s) == len(g.chain_length_m) == c):
        return "chain arrays of different lengths"
    if c and (min(g.chain_tail.min(), g.chain_head.min()) < 0 or max(g.chain_tail.max(), g.chain_head.max()) >= n):
        return "chain end out of range"
    problem = _times_problem(g.chain_time_s, "chain times", c) or _times_problem(g.chain_length_m, "chain lengths", c)
    if problem:
        return problem
    s = len(g.shape_x)
    if len(g.shape_y) != s or g.shape_chain.shape != (s, 2) or g.shape_offset_s.shape != (s, 2) or g.shape_offset_m.shape != (s, 2):
        return "shape point arrays of different shapes"
    if s:
        sc = g.shape_chain
        if sc[:, 0].min() < 0 or sc.max() >= c or sc.min() < -1:
            return "shape point chain out of range"
        if not (np.all(np.isfinite(g.shape_offset_s)) and np.all(np.isfinite(g.shape_offset_m))):
            return "shape point offsets not finite"
        if g.shape_offset_s.min() < 0 or g.shape_offset_m.min() < 0:
            return "negative shape point offsets"
        used = sc >= 0
        if np.any(g.shape_offset_s[used] > g.chain_time_s[sc[used]] * (1 + 1e-9) + 1e-6):
            return "shape point beyond the end of its chain"
        if not (np.all(np.abs(g.shape_x) <= 180) and np.all(np.abs(g.shape_y) <= 90)):
            return "shape point coordinates out of range"
    return None


def default_osm_path() -> Path:
    """The embedded Alpes du Sud road extract."""
    return embedded_data_dir() / "osm" / "alpes-du-sud-roads-2021.osm.pbf"


def cache_key(osm_path: str | os.PathLike, profile: Profile) -> str:
    """Hash of the input file's bytes, the profile text and the cache format."""
    from accessibility._io import sha256_file

    h = hashlib.sha256()
    h.update(f"format={CACHE_FORMAT}\n".encode())
    h.update(profile.text.encode())
    h.update(sha256_file(osm_path).encode())
    return h.hexdigest()[:24]


def _clean_cache_dir(cdir: Path) -> None:
    """Remove what killed processes left in the cache: the staged and replaced directories of
    :func:`accessibility._io.staged_dir` (graphs, and hierarchies inside them) and temp files."""
    from accessibility._io import pid_alive

    if not cdir.is_dir():
        return
    for d in [*cdir.glob(".*"), *cdir.glob("graph-*/.*"), *cdir.glob("*.tmp")]:
        m = _LEFTOVER.match(d.name)
        if m:
            pid = int(m[1])
        elif d.suffix == ".tmp":
            digits = [x for x in d.name.split(".") if x.isdigit()]
            pid = int(digits[-1]) if digits else -1
        else:
            continue
        if pid != os.getpid() and not pid_alive(pid):
            if d.is_dir():
                shutil.rmtree(d, ignore_errors=True)
            else:
                d.unlink(missing_ok=True)


def load_graph(
    osm_path: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    profile: Profile | str | os.PathLike | None = None,
    use_cache: bool = True,
    rebuild: bool = False,
    mmap: bool = False,
) -> Graph:
    """The car graph of an extract, from the cache when it is there and sound, else built.

    Parameters
    ----------
    osm_path : str or path-like, optional
        ``.osm.pbf`` extract; the embedded Alpes du Sud extract when omitted.
    cache_dir : str or path-like, optional
        Cache directory; :func:`accessibility.settings.default_cache_dir` when omitted.
    profile : Profile or path, optional
        Speed profile (object or TOML file); the shipped car profile when omitted.
    use_cache : bool, default True
        Read and write the cache.
    rebuild : bool, default False
        Build even when a cached graph exists (and overwrite it).
    mmap : bool, default False
        Memory-map the cached arrays (read-only) instead of reading them into memory.

    Returns
    -------
    Graph
        With ``graph.report.from_cache`` telling where it came from, and ``graph.report``
        naming its source file, the source's sha256, the profile and the cache key.

    Raises
    ------
    InputFileError, OSMFileError, NoDrivableRoadError
        The extract is missing, unreadable or holds no drivable road.
    """
    from accessibility._io import sha256_file

    src = Path(osm_path) if osm_path is not None else default_osm_path()
    check_pbf(src)
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    key = cache_key(src, prof)
    stamp: dict[str, Any] = dict(
        source=str(src.resolve()), source_sha256=sha256_file(src), profile=prof.name,
        profile_sha256=hashlib.sha256(prof.text.encode()).hexdigest(), cache_key=key,
    )
    if not use_cache:
        g = build_graph(src, profile=prof)
        return replace(g, report=replace(g.report, **stamp))
    cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    _clean_cache_dir(cdir)
    path = cdir / f"graph-{src.name.split('.')[0]}-{key}"
    if path.exists() and not rebuild:
        t0 = time.perf_counter()
        try:
            g = read_graph(path, mmap=mmap)
            if g.report.source_sha256 != stamp["source_sha256"] or g.report.cache_key != key:
                raise InputFileError(f"graph {str(path)!r} was built from another file or profile")
        except InputFileError as exc:
            log.warning("cached graph %s is unusable (%s); rebuilding", path, exc)
        else:
            rep = replace(g.report, from_cache=True, build_s=time.perf_counter() - t0, source=stamp["source"])
            g = replace(g, report=rep)
            g.derived.cache_path = path
            return g
    g = build_graph(src, profile=prof)
    g = replace(g, report=replace(g.report, **stamp))
    try:
        save_graph(g, path)
        g.derived.cache_path = path
    except OSError as exc:
        log.warning("could not write the graph cache %s: %s", path, exc)
    return g
