"""The derived state of a graph: named, typed, owned here, built on first use.

What the layers above need from a graph besides its own arrays, each a named member of one
:class:`DerivedState` that a :class:`~accessibility.network.graph.Graph` carries (``graph.derived``):

========================  ====================================================================
member                    what it is, who builds it, where it is saved
========================  ====================================================================
``snap``                  :class:`~accessibility.network.spatial.SnapIndex` of the road vertices
                          (:func:`snap_index`); saved with the graph (``snap.*``).
``core_fwd``/``core_rev`` :class:`~accessibility.network.core.ReducedCore` of the forward and
                          reverse CSR, seconds *and* metres (:func:`core`): the one reduced core
                          that the Dijkstra kernels search and the hierarchy contracts; saved with
                          the graph (``core_fwd.*``, ``core_rev.*``).
``hierarchy``             :class:`~accessibility.network.hierarchy.ContractionHierarchy` built
                          by :func:`accessibility.routing.ch.build_ch` and handed here with
                          :func:`keep_hierarchy`; saved in ``ch/`` inside the graph's cache entry
                          and read back (CRC and content checked) by :func:`saved_hierarchy`.
``cache_path``            The graph's cache directory (None for a graph not cached), set by
                          :func:`accessibility.network.graph.load_graph`.
``graph_key``             :func:`accessibility.network.hierarchy.graph_key` of the graph.
``extent``                Bounding box of the road vertices (:func:`extent`).
``chain_shapes``          CSR of the shape points of each chain (:func:`chain_shapes`).
``cell_xy``               Vertex coordinates in the snap index's cell order (:func:`cell_xy`).
========================  ====================================================================

Nothing here imports routing: the hierarchy is built above and only kept (and saved, loaded and
checked) here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from accessibility.errors import InputFileError

if TYPE_CHECKING:
    from accessibility.network.core import ReducedCore
    from accessibility.network.graph import Graph
    from accessibility.network.hierarchy import ContractionHierarchy
    from accessibility.network.spatial import SnapIndex

__all__ = [
    "DerivedState",
    "snap_index",
    "core",
    "extent",
    "chain_shapes",
    "cell_xy",
    "graph_key",
    "hierarchy_dir",
    "has_saved_hierarchy",
    "saved_hierarchy",
    "keep_hierarchy",
]

log = logging.getLogger(__name__)

#: Name of the hierarchy's directory inside a graph's cache entry.
HIERARCHY_DIR = "ch"


@dataclass(eq=False)
class DerivedState:
    """The derived state of one graph (see the module docstring); every member None until built."""

    snap: SnapIndex | None = None
    core_fwd: ReducedCore | None = None
    core_rev: ReducedCore | None = None
    hierarchy: ContractionHierarchy | None = None
    cache_path: Path | None = None
    graph_key: str | None = None
    extent: tuple[float, float, float, float] | None = None
    chain_shapes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    cell_xy: tuple[np.ndarray, np.ndarray] | None = None

    def __repr__(self) -> str:
        have = [k for k, v in vars(self).items() if v is not None]
        return f"DerivedState({', '.join(have) or 'empty'})"


def snap_index(graph: Graph) -> SnapIndex:
    """The grid index of the road vertices (nodes, then shape points), built once (about 0.2 s
    on the embedded graph) and saved with the graph."""
    d = graph.derived
    if d.snap is None:
        from accessibility.network.spatial import build_snap_index

        d.snap = build_snap_index(np.concatenate([graph.x, graph.shape_x]), np.concatenate([graph.y, graph.shape_y]))
    return d.snap


def _reverse_lengths(graph: Graph) -> np.ndarray:
    """Metres of each reverse-CSR edge: the forward edge with the same ends and time."""
    from accessibility.errors import InvalidParameterError

    n = graph.n_nodes
    tail = np.repeat(np.arange(n, dtype=np.int64), np.diff(graph.indptr))
    head_r = np.repeat(np.arange(n, dtype=np.int64), np.diff(graph.rev_indptr))
    of = np.lexsort((graph.time_s, tail, graph.indices))
    orr = np.lexsort((graph.rev_time_s, graph.rev_indices, head_r))
    if not (np.array_equal(graph.indices[of], head_r[orr]) and np.array_equal(tail[of], graph.rev_indices[orr])
            and np.array_equal(graph.time_s[of], graph.rev_time_s[orr])):
        raise InvalidParameterError("the graph's reverse CSR does not hold its forward edges: rebuild the graph")
    out = np.empty(len(graph.length_m))
    out[orr] = graph.length_m[of]
    return out


def core(graph: Graph, *, reverse: bool = False) -> ReducedCore:
    """The reduced core of the forward (or reverse) CSR, seconds and metres, built once per
    direction and saved with the graph."""
    from accessibility.network.core import build_core

    d = graph.derived
    if reverse:
        if d.core_rev is None:
            d.core_rev = build_core(graph.rev_indptr, graph.rev_indices, graph.rev_time_s, _reverse_lengths(graph))
        return d.core_rev
    if d.core_fwd is None:
        d.core_fwd = build_core(graph.indptr, graph.indices, graph.time_s, graph.length_m)
    return d.core_fwd


def extent(graph: Graph) -> tuple[float, float, float, float]:
    """``(lon_min, lon_max, lat_min, lat_max)`` of the road vertices (nodes and shape points)."""
    d = graph.derived
    if d.extent is None:
        xs = np.concatenate([graph.x, graph.shape_x])
        ys = np.concatenate([graph.y, graph.shape_y])
        d.extent = (float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max()))
    return d.extent


def chain_shapes(graph: Graph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of the shape points of each chain: ``(ptr, shape_point, slot)``, ``slot`` the column
    of ``graph.shape_chain`` that names the chain."""
    d = graph.derived
    if d.chain_shapes is None:
        sc = graph.shape_chain
        s_idx = np.repeat(np.arange(len(sc), dtype=np.int64), 2)
        slot = np.tile(np.array([0, 1], dtype=np.int64), len(sc))
        ch = sc.ravel().astype(np.int64)
        keep = ch >= 0
        ch, s_idx, slot = ch[keep], s_idx[keep], slot[keep]
        order = np.argsort(ch, kind="stable")
        ptr = np.zeros(len(graph.chain_tail) + 1, dtype=np.int64)
        np.cumsum(np.bincount(ch, minlength=len(graph.chain_tail)), out=ptr[1:])
        d.chain_shapes = (ptr, s_idx[order], slot[order])
    return d.chain_shapes


def cell_xy(graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """Projected coordinates of the road vertices in the snap index's cell order (contiguous)."""
    d = graph.derived
    if d.cell_xy is None:
        idx = snap_index(graph)
        d.cell_xy = (np.ascontiguousarray(idx.vx[idx.cell_vert]), np.ascontiguousarray(idx.vy[idx.cell_vert]))
    return d.cell_xy


def graph_key(graph: Graph) -> str:
    """The graph's :func:`~accessibility.network.hierarchy.graph_key`, computed once."""
    d = graph.derived
    if d.graph_key is None:
        from accessibility.network.hierarchy import graph_key as _key

        d.graph_key = _key(graph)
    return d.graph_key


def hierarchy_dir(graph: Graph) -> Path | None:
    """Where the graph's hierarchy is saved (``ch/`` in its cache entry), None when not cached."""
    p = graph.derived.cache_path
    return None if p is None else Path(p) / HIERARCHY_DIR


def has_saved_hierarchy(graph: Graph) -> bool:
    """Whether a hierarchy was saved beside the cached graph (not yet checked: see
    :func:`saved_hierarchy`)."""
    d = hierarchy_dir(graph)
    return d is not None and (d / "meta.json").is_file()


def saved_hierarchy(graph: Graph) -> ContractionHierarchy | None:
    """The graph's hierarchy: the one kept on it, else the one saved beside the cached graph when
    it is sound and of this graph (CRCs, content and graph key checked; kept once read), else None.

    A saved hierarchy that fails a check is logged and ignored (the caller builds a new one and
    :func:`keep_hierarchy` saves it over the bad one).
    """
    d = graph.derived
    if d.hierarchy is not None:
        return d.hierarchy
    if not has_saved_hierarchy(graph):
        return None
    from accessibility.network.hierarchy import load_ch

    path = hierarchy_dir(graph)
    try:
        d.hierarchy = load_ch(path, graph=graph)  # type: ignore[arg-type]
    except InputFileError as exc:
        log.warning("hierarchy %s is unusable (%s); rebuilding", path, exc)
        return None
    return d.hierarchy


def keep_hierarchy(graph: Graph, ch: ContractionHierarchy, *, save: bool = True) -> ContractionHierarchy:
    """Keep ``ch`` as the graph's hierarchy and, for a cached graph, save it beside it.

    Raises
    ------
    InvalidParameterError
        ``ch`` was built from another graph.
    """
    from accessibility.errors import InvalidParameterError

    if ch.n_nodes != graph.n_nodes or (ch.graph_key and ch.graph_key != graph_key(graph)):
        raise InvalidParameterError("this hierarchy was built from another graph: build it from this one")
    graph.derived.hierarchy = ch
    path = hierarchy_dir(graph)
    if save and path is not None:
        from accessibility.network.hierarchy import save_ch

        try:
            save_ch(ch, path)
        except OSError as exc:
            log.warning("could not save the hierarchy to %s: %s", path, exc)
    return ch
