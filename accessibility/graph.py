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
import time
import zipfile
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from .errors import InputFileError, NoDrivableRoadError
from .osm import EdgeTable, check_pbf, read_osm_edges
from .settings import Profile, default_cache_dir, embedded_data_dir, load_profile

__all__ = [
    "Graph",
    "BuildReport",
    "build_graph",
    "graph_from_edges",
    "load_graph",
    "save_graph",
    "read_graph",
    "default_osm_path",
    "cache_key",
]

log = logging.getLogger(__name__)

#: Bumped whenever the on-disk layout or the build changes; part of the cache key.
CACHE_FORMAT = 1


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
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.indptr) - 1

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.indices)

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
    from ._graph_kernels import hilbert_keys

    order = 16
    span_x = max(float(x.max() - x.min()), 1e-12)
    span_y = max(float(y.max() - y.min()), 1e-12)
    side = (1 << order) - 1
    ix = ((x - x.min()) / span_x * side).astype(np.int64)
    iy = ((y - y.min()) / span_y * side).astype(np.int64)
    return np.argsort(hilbert_keys(ix, iy, order), kind="stable")


def graph_from_edges(
    u,
    v,
    time_s,
    *,
    length_m=None,
    x=None,
    y=None,
    contract: bool = True,
    largest_component: bool = True,
    source: str = "edges",
    n_ways: int = 0,
    n_ways_excluded: int = 0,
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
    largest_component : bool, default True
        Keep only the largest strongly connected component.
    source : str
        Label for the build report.

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
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    from ._graph_kernels import contractible_nodes, walk_chains
    from .errors import InvalidParameterError

    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    t = np.asarray(time_s, dtype=np.float64)
    if len(u) == 0:
        raise NoDrivableRoadError(f"no edge to build a graph from ({source})")
    if not (len(u) == len(v) == len(t)):
        raise InvalidParameterError(
            f"u, v and time_s must have the same length, got {len(u)}, {len(v)}, {len(t)}"
        )
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InvalidParameterError("edge times must be finite and >= 0 seconds")
    ln = np.zeros(len(u)) if length_m is None else np.asarray(length_m, dtype=np.float64)
    if x is None:
        n = int(max(u.max(), v.max())) + 1
        xa = np.zeros(n)
        ya = np.zeros(n)
    else:
        xa = np.asarray(x, dtype=np.float64)
        ya = np.asarray(y, dtype=np.float64)
        n = len(xa)
    if u.min() < 0 or v.min() < 0 or u.max() >= n or v.max() >= n:
        raise InvalidParameterError(f"edge node ids must be in [0, {n})")

    km_raw = _road_km(u, v, ln)
    edges_raw = len(u)
    nodes_raw = int(np.unique(np.concatenate([u, v])).size)

    # largest strongly connected component
    if largest_component:
        adj = coo_array((np.ones(len(u)), (u, v)), shape=(n, n)).tocsr()
        _, labels = connected_components(adj, directed=True, connection="strong")
        present = np.zeros(n, dtype=bool)
        present[u] = True
        present[v] = True
        counts = np.bincount(labels[present])
        best = int(np.argmax(counts))
        in_scc = (labels == best) & present
        keep_e = in_scc[u] & in_scc[v]
        u, v, t, ln = u[keep_e], v[keep_e], t[keep_e], ln[keep_e]
    else:
        in_scc = np.zeros(n, dtype=bool)
        in_scc[u] = True
        in_scc[v] = True
    km_scc = _road_km(u, v, ln) if len(u) else 0.0
    nodes_scc = int(in_scc.sum())

    # compact ids of the component's nodes
    old_of = np.flatnonzero(in_scc)
    new_of = np.full(n, -1, dtype=np.int64)
    new_of[old_of] = np.arange(len(old_of))
    cu, cv = new_of[u], new_of[v]
    cu, cv, t, ln = _dedupe_min(cu, cv, t, ln)
    nc = len(old_of)
    indptr, indices, tt, ll = _csr(cu, cv, nc, t, ln)
    rindptr, rindices = _csr(cv, cu, nc)[:2]

    if contract:
        contractible = contractible_nodes(indptr, indices, rindptr, rindices)
    else:
        contractible = np.zeros(nc, dtype=bool)
    while True:
        res = walk_chains(indptr, indices, tt, ll, contractible)
        if res[7]:
            break
        # rings of contractible nodes only: keep them as nodes
        contractible = contractible & (res[4][:, 0] != -1)
    ch_tail, ch_head, ch_time, ch_len, slot_chain, slot_off_s, slot_off_m, _ = res

    kept = np.flatnonzero(~contractible)
    order = _hilbert_order(xa[old_of[kept]], ya[old_of[kept]])
    kept = kept[order]
    node_of = np.full(nc, -1, dtype=np.int64)
    node_of[kept] = np.arange(len(kept))
    k_tail = node_of[ch_tail]
    k_head = node_of[ch_head]

    gu, gv, gt, gl = _dedupe_min(k_tail, k_head, ch_time, ch_len)
    nk = len(kept)
    g_indptr, g_indices, g_time, g_len = _csr(gu, gv, nk, gt, gl)
    r_indptr, r_indices, r_time = _csr(gv, gu, nk, gt)

    shapes = np.flatnonzero(contractible)
    report = BuildReport(
        source=source,
        n_ways=n_ways,
        n_ways_excluded=n_ways_excluded,
        nodes_raw=nodes_raw,
        edges_raw=edges_raw,
        km_raw=km_raw,
        nodes_scc=nodes_scc,
        km_scc=km_scc,
        nodes=nk,
        edges=len(g_indices),
    )
    i32 = np.int32
    graph = Graph(
        indptr=g_indptr.astype(i32),
        indices=g_indices.astype(i32),
        time_s=g_time,
        length_m=g_len,
        rev_indptr=r_indptr.astype(i32),
        rev_indices=r_indices.astype(i32),
        rev_time_s=r_time,
        x=xa[old_of[kept]],
        y=ya[old_of[kept]],
        chain_tail=k_tail.astype(i32),
        chain_head=k_head.astype(i32),
        chain_time_s=ch_time,
        chain_length_m=ch_len,
        shape_x=xa[old_of[shapes]],
        shape_y=ya[old_of[shapes]],
        shape_chain=slot_chain[shapes].astype(i32),
        shape_offset_s=slot_off_s[shapes],
        shape_offset_m=slot_off_m[shapes],
        report=report,
    )
    node_ids = np.full(n, -1, dtype=np.int64)
    node_ids[old_of] = node_of
    return graph, node_ids


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
        See :func:`accessibility.osm.read_osm_edges`.
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
        source=str(osm_path),
        n_ways=edges.n_ways,
        n_ways_excluded=edges.n_ways_excluded,
    )
    return replace(g, report=replace(g.report, build_s=time.perf_counter() - t0))


# ---------------------------------------------------------------------------------------------
# save / load / cache

_ARRAYS = [f.name for f in fields(Graph) if f.name not in ("report", "_cache")]


def save_graph(graph: Graph, path: str | os.PathLike) -> Path:
    """Write a graph to one ``.npz`` file, atomically (temporary file, then rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    meta = {f.name: getattr(graph.report, f.name) for f in fields(BuildReport)}
    meta["format"] = CACHE_FORMAT
    tmp = p.with_name(p.name + f".{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                **{name: getattr(graph, name) for name in _ARRAYS},
            )
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


def read_graph(path: str | os.PathLike) -> Graph:
    """Read a graph written by :func:`save_graph`.

    Raises
    ------
    InputFileError
        The file is missing, truncated or corrupt (zip CRC), or not a graph of this version.
    """
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            meta = json.loads(bytes(z["__meta__"]).decode())
            if meta.pop("format", None) != CACHE_FORMAT:
                raise InputFileError(f"{str(p)!r} is a graph of another format version")
            arrays = {name: z[name] for name in _ARRAYS}
    except InputFileError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise InputFileError(f"cannot read graph file {str(p)!r}: {exc}") from exc
    g = Graph(**arrays, report=BuildReport(**meta))
    _check_consistent(g, p)
    return g


def _check_consistent(g: Graph, p: Path) -> None:
    n = g.n_nodes
    ok = (
        g.indptr[0] == 0
        and g.indptr[-1] == len(g.indices) == len(g.time_s) == len(g.length_m)
        and len(g.rev_indices) == len(g.indices)
        and len(g.x) == len(g.y) == n
        and (len(g.indices) == 0 or (g.indices.min() >= 0 and g.indices.max() < n))
        and g.shape_chain.shape == g.shape_offset_s.shape == (len(g.shape_x), 2)
    )
    if not ok:
        raise InputFileError(f"graph file {str(p)!r} is inconsistent (corrupt cache?)")


def default_osm_path() -> Path:
    """The embedded Alpes du Sud road extract."""
    return embedded_data_dir() / "osm" / "alpes-du-sud-roads-2021.osm.pbf"


def cache_key(osm_path: str | os.PathLike, profile: Profile) -> str:
    """Hash of the input file's bytes, the profile text and the cache format."""
    h = hashlib.sha256()
    h.update(f"format={CACHE_FORMAT}\n".encode())
    h.update(profile.text.encode())
    with open(osm_path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()[:24]


def load_graph(
    osm_path: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    profile: Profile | str | os.PathLike | None = None,
    use_cache: bool = True,
    rebuild: bool = False,
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

    Returns
    -------
    Graph
        With ``graph.report.from_cache`` telling where it came from.

    Raises
    ------
    InputFileError, OSMFileError, NoDrivableRoadError
        The extract is missing, unreadable or holds no drivable road.
    """
    src = Path(osm_path) if osm_path is not None else default_osm_path()
    check_pbf(src)
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    if not use_cache:
        return build_graph(src, profile=prof)
    cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = cache_key(src, prof)
    path = cdir / f"graph-{src.name.split('.')[0]}-{key}.npz"
    if path.exists() and not rebuild:
        t0 = time.perf_counter()
        try:
            g = read_graph(path)
        except InputFileError as exc:
            log.warning("cached graph %s is unreadable (%s); rebuilding", path, exc)
        else:
            rep = replace(g.report, from_cache=True, build_s=time.perf_counter() - t0)
            return replace(g, report=rep)
    g = build_graph(src, profile=prof)
    try:
        save_graph(g, path)
    except OSError as exc:
        log.warning("could not write the graph cache %s: %s", path, exc)
    return g


