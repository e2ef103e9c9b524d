"""numba Dijkstra kernels: arrays and scalars in, arrays out.

Searches from seeds run in three steps on a *reduced* graph, exact for every query:

1. **Reduction** (once per CSR, :mod:`accessibility.network.core`): dead-end trees peeled off,
   chains of the 2-core contracted; every eliminated node keeps at most two *anchors* (core
   node, offset). On the PACA graph the core has a third of the nodes.
2. **Local phase**: a heap Dijkstra in the full graph from the seeds that does not expand core
   nodes. It gives the times to the eliminated nodes of the seeds' own trees and chains by paths
   that stay there, and to the core nodes around them, which seed the core search.
3. **Core search**, a bucket queue (buckets of width ``delta``, label-correcting inside a bucket:
   a node is scanned again if its time drops after its scan), then every node's time is the best
   of its local time and ``time(anchor) + offset``.

Unreachable nodes, and nodes beyond the cutoff, end at ``inf``. Times agree with a plain
Dijkstra up to floating-point rounding (chain offsets are summed before being added).
:func:`one_to_one_path` (predecessors on the full graph, for routes) runs a heap Dijkstra.

The reduced core is derived state of the graph (:mod:`accessibility.network.derived`):
:meth:`accessibility.network.graph.Graph.reduced` builds it once per direction and the graph cache
saves it; the entry points take it as ``red`` (a :class:`~accessibility.network.core.ReducedCore`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit as _njit
from numba import prange

#: numba's decorator, typed loosely: its dispatchers take the kernels' own arguments.
njit: Any = _njit

_NEVER = -1
_DONE = -2
_I32 = np.int32

# ---------------------------------------------------------------------------------------------
# heap Dijkstra (4-ary heap with decrease-key): local phase, paths, fallback


@njit(cache=True, inline="always")
def _sift_up(hn, hk, pos, i):
    node = hn[i]
    key = hk[i]
    while i > 0:
        p = (i - 1) >> 2
        if hk[p] <= key:
            break
        hn[i] = hn[p]
        hk[i] = hk[p]
        pos[hn[i]] = i
        i = p
    hn[i] = node
    hk[i] = key
    pos[node] = i


@njit(cache=True, inline="always")
def _sift_down(hn, hk, pos, i, size):
    node = hn[i]
    key = hk[i]
    while True:
        c = 4 * i + 1
        if c >= size:
            break
        best = c
        bk = hk[c]
        for j in range(c + 1, min(c + 4, size)):
            if hk[j] < bk:
                bk = hk[j]
                best = j
        if bk >= key:
            break
        hn[i] = hn[best]
        hk[i] = bk
        pos[hn[i]] = i
        i = best
    hn[i] = node
    hk[i] = key
    pos[node] = i


@njit(cache=True)
def _search(indptr, indices, w, seed_nodes, seed_times, seed_labels, cutoff,
            dist, label, pred, pos, hn, hk, touched, target_count, n_targets, track_pred,
            sinks, use_sinks):
    """Dijkstra with a 4-ary heap and decrease-key, in place on the given work arrays.

    ``dist`` and ``pos`` must hold ``inf`` and ``-1`` on entry for every node (the caller resets
    the ``touched`` ones afterwards; ``pos`` ends at -2 for settled nodes). Stops when the heap
    is empty or when ``n_targets > 0`` nodes with ``target_count > 0`` are all settled (the nodes
    still in the heap then get ``inf``). With ``use_sinks``, nodes with ``sinks >= 0`` are settled
    but not expanded. Times above ``cutoff`` are never stored. Returns the number of touched nodes.
    """
    size = 0
    nt = 0
    for i in range(len(seed_nodes)):
        v = seed_nodes[i]
        d = seed_times[i]
        if not (d <= cutoff and d < dist[v]):
            continue
        if pos[v] == _NEVER:
            touched[nt] = v
            nt += 1
            dist[v] = d
            hn[size] = v
            hk[size] = d
            pos[v] = size
            _sift_up(hn, hk, pos, size)
            size += 1
        else:
            dist[v] = d
            hk[pos[v]] = d
            _sift_up(hn, hk, pos, pos[v])
        label[v] = seed_labels[i]
        if track_pred:
            pred[v] = -1
    remaining = n_targets
    while size > 0:
        u = hn[0]
        du = hk[0]
        size -= 1
        if size > 0:
            hn[0] = hn[size]
            hk[0] = hk[size]
            pos[hn[0]] = 0
            _sift_down(hn, hk, pos, 0, size)
        pos[u] = _DONE
        if n_targets > 0 and target_count[u] > 0:
            remaining -= 1
            if remaining == 0:
                break
        if use_sinks and sinks[u] >= 0:
            continue
        lu = label[u]
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            pv = pos[v]
            if pv == _DONE:
                continue
            nd = du + w[e]
            if not nd <= cutoff:
                continue
            if pv == _NEVER:
                dist[v] = nd
                hn[size] = v
                hk[size] = nd
                pos[v] = size
                _sift_up(hn, hk, pos, size)
                size += 1
                touched[nt] = v
                nt += 1
            elif nd < dist[v]:
                dist[v] = nd
                hk[pv] = nd
                _sift_up(hn, hk, pos, pv)
            else:
                continue
            label[v] = lu
            if track_pred:
                pred[v] = e
    for i in range(size):
        dist[hn[i]] = np.inf
    return nt


# ---------------------------------------------------------------------------------------------
# bucket queue on the core


@njit(cache=True)
def _bucket_search(indptr, indices, w, seed_nodes, seed_times, seed_labels, cutoff, inv_delta,
                   dist, label, state, nxt, prv, head, track_labels, target_mark, n_targets,
                   touched):
    """Exact search with a bucket queue (buckets of width ``1 / inv_delta``), in place.

    Buckets are doubly linked lists of nodes in a circular array ``head`` (a power of two longer
    than the longest edge over the width, + 1), taken in time order. Inside the current bucket,
    the last node queued is scanned first (it is still in cache), and a node whose time drops
    after its scan, through an edge shorter than the width, is queued again. Once a bucket is
    empty its nodes' times are final, since later buckets only hold larger times. Seeds enter the
    queue when their bucket comes, so their times may span any range. Rescans are rare on road
    graphs (the width is a low quantile of the edge times); past ``n + 1000`` of them the search
    gives up and returns ``-(touched + 1)`` (see :func:`_core_search`), so that no input can make
    it slow.

    ``state``: 0 never reached, 1 queued, 2 scanned, 3 queued again after a scan. On entry
    ``dist`` is ``inf`` and ``state`` 0 for every node, ``head`` -1 for every slot; the caller
    resets the touched nodes afterwards (``head`` is left at -1). Stops early once the
    ``n_targets`` nodes with ``target_mark > 0`` are settled (non-final times are then reset to
    ``inf``). Times above ``cutoff`` are never stored. Returns the number of touched nodes.
    """
    mask = len(head) - 1
    nt = 0
    inq = 0
    order = np.argsort(seed_times)
    si = 0
    n_seeds = len(seed_nodes)
    last_bucket = np.int64(1) << 62
    if cutoff * inv_delta < 4e18:
        last_bucket = np.int64(cutoff * inv_delta)
    cur = np.int64(0)
    remaining = n_targets
    rescans = 0
    max_rescans = len(indptr) + 1000
    ok = True
    while True:
        if inq == 0:
            while si < n_seeds and not seed_times[order[si]] <= cutoff:
                si += 1
            if si >= n_seeds:
                break
            cur = np.int64(seed_times[order[si]] * inv_delta)
        if cur > last_bucket:
            break
        # the seeds of this bucket
        while si < n_seeds:
            j = order[si]
            d = seed_times[j]
            if not d <= cutoff:
                si += 1
                continue
            if np.int64(d * inv_delta) > cur:
                break
            si += 1
            v = seed_nodes[j]
            dv = dist[v]
            if not d < dv:
                continue
            dist[v] = d
            if track_labels:
                label[v] = seed_labels[j]
            s = state[v]
            if s == 0:
                touched[nt] = v
                nt += 1
                state[v] = 1
                inq += 1
            elif s == 2:
                state[v] = 3
                inq += 1
            else:  # queued in a later bucket: unlink
                a = prv[v]
                c = nxt[v]
                if a >= 0:
                    nxt[a] = c
                else:
                    head[np.int64(dv * inv_delta) & mask] = c
                if c >= 0:
                    prv[c] = a
            h = head[cur & mask]
            nxt[v] = h
            prv[v] = -1
            if h >= 0:
                prv[h] = v
            head[cur & mask] = v
        slot = cur & mask
        while True:
            u = head[slot]
            if u < 0:
                break
            nu = nxt[u]
            head[slot] = nu
            if nu >= 0:
                prv[nu] = -1
            inq -= 1
            su = state[u]
            if su == 1:
                if n_targets > 0 and target_mark[u] > 0:
                    remaining -= 1
            else:
                rescans += 1
                if rescans > max_rescans:
                    ok = False
                    break
            state[u] = 2
            du = dist[u]
            lu = label[u] if track_labels else 0
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                nd = du + w[e]
                dv = dist[v]
                if not (nd < dv and nd <= cutoff):
                    continue
                dist[v] = nd
                if track_labels:
                    label[v] = lu
                b = np.int64(nd * inv_delta)
                s = state[v]
                if s == 0:
                    touched[nt] = v
                    nt += 1
                    state[v] = 1
                    inq += 1
                elif s == 2:
                    state[v] = 3
                    inq += 1
                else:
                    ob = np.int64(dv * inv_delta)
                    if ob == b:
                        continue
                    # unlink from its bucket (helpers inlined by hand: numba's inline="always"
                    # made this loop 30 % slower)
                    a = prv[v]
                    c = nxt[v]
                    if a >= 0:
                        nxt[a] = c
                    else:
                        head[ob & mask] = c
                    if c >= 0:
                        prv[c] = a
                b = b & mask
                h = head[b]
                nxt[v] = h
                prv[v] = -1
                if h >= 0:
                    prv[h] = v
                head[b] = v
        if not ok:
            break
        if n_targets > 0 and remaining == 0:
            break
        cur += 1
    if inq > 0:
        head[:] = -1
        for k in range(nt):
            v = touched[k]
            if state[v] != 2:
                dist[v] = np.inf
    if not ok:
        return -nt - 1
    return nt


@njit(cache=True)
def _core_search(c_ptr, c_idx, c_w, seed_nodes, seed_times, seed_labels, cutoff, inv_delta,
                 dist, label, state, nxt, prv, head, track_labels, target_mark, n_targets, touched):
    """:func:`_bucket_search`, redone with the heap if it gives up (too many nodes scanned again).

    Returns the number of touched nodes; the caller resets their ``dist`` and ``state``.
    """
    r = _bucket_search(c_ptr, c_idx, c_w, seed_nodes, seed_times, seed_labels, cutoff, inv_delta,
                       dist, label, state, nxt, prv, head, track_labels, target_mark, n_targets,
                       touched)
    if r >= 0:
        return r
    for k in range(-r - 1):
        dist[touched[k]] = np.inf
        state[touched[k]] = 0
    nk = len(c_ptr) - 1
    pos = np.full(nk, _NEVER, dtype=_I32)
    hn = np.empty(nk, dtype=_I32)
    hk = np.empty(nk)
    no_pred = np.empty(1, dtype=np.int64)
    no_sinks = np.empty(1, dtype=_I32)
    return _search(c_ptr, c_idx, c_w, seed_nodes, seed_times, seed_labels, cutoff,
                   dist, label, no_pred, pos, hn, hk, touched, target_mark, n_targets, False,
                   no_sinks, False)


@njit(cache=True)
def _core_seeds(core_of, touched, nt, dist, label):
    """The core nodes reached by the local phase, as seeds of the core search (core ids)."""
    k = 0
    for i in range(nt):
        if core_of[touched[i]] >= 0:
            k += 1
    nodes = np.empty(k, dtype=_I32)
    times = np.empty(k)
    labels = np.empty(k, dtype=np.int64)
    k = 0
    for i in range(nt):
        v = touched[i]
        if core_of[v] >= 0:
            nodes[k] = core_of[v]
            times[k] = dist[v]
            labels[k] = label[v]
            k += 1
    return nodes, times, labels


# ---------------------------------------------------------------------------------------------
# searches on the reduced graph


@njit(cache=True)
def _multi_source(indptr, indices, w, core_of, a1, o1, a2, o2, c_ptr, c_idx, c_w, inv_delta,
                  n_slots, seed_nodes, seed_times, seed_labels, cutoff):
    n = len(indptr) - 1
    nk = len(c_ptr) - 1
    dist = np.full(n, np.inf)
    label = np.full(n, -1, dtype=np.int64)
    pos = np.full(n, _NEVER, dtype=_I32)
    hn = np.empty(n, dtype=_I32)
    hk = np.empty(n)
    touched = np.empty(n, dtype=_I32)
    dummy = np.empty(1, dtype=np.int64)
    nt = _search(indptr, indices, w, seed_nodes, seed_times, seed_labels, cutoff,
                 dist, label, dummy, pos, hn, hk, touched, dummy, 0, False, core_of, True)
    cs, ct, cl = _core_seeds(core_of, touched, nt, dist, label)
    dc = np.full(nk, np.inf)
    lc = np.full(nk, -1, dtype=np.int64)
    state = np.zeros(nk, dtype=np.uint8)
    nxt = np.empty(nk, dtype=_I32)
    prv = np.empty(nk, dtype=_I32)
    head = np.full(n_slots, -1, dtype=_I32)
    _core_search(c_ptr, c_idx, c_w, cs, ct, cl, cutoff, inv_delta, dc, lc, state, nxt, prv, head,
                 True, dummy, 0, touched[:nk])
    # each node's local label or the route through its core anchors, written out by hand here and
    # in the grouped search: an njit helper returning (time, label) made this loop 2.6x slower
    for x in range(n):
        best = dist[x]
        bl = label[x]
        a = a1[x]
        if a >= 0:
            d = dc[a] + o1[x]
            if d < best:
                best = d
                bl = lc[a]
        a = a2[x]
        if a >= 0:
            d = dc[a] + o2[x]
            if d < best:
                best = d
                bl = lc[a]
        if best <= cutoff:
            dist[x] = best
            label[x] = bl
        else:
            dist[x] = np.inf
            label[x] = -1
    return dist, label


@njit(cache=True, parallel=True)
def _matrix(indptr, indices, w, core_of, a1, o1, a2, o2, c_ptr, c_idx, c_w, inv_delta, n_slots,
            src_ptr, src_nodes, src_times, tgt_ptr, tgt_nodes, tgt_times, cutoff, n_threads):
    n = len(indptr) - 1
    nk = len(c_ptr) - 1
    ns = len(src_ptr) - 1
    ntg = len(tgt_ptr) - 1
    out = np.full((ns, ntg), np.inf)
    # the core search of a source stops once the anchors of every target node are settled
    mark = np.zeros(nk, dtype=np.int64)
    n_marked = 0
    for k in range(len(tgt_nodes)):
        x = tgt_nodes[k]
        for a in (a1[x], a2[x]):
            if a >= 0 and mark[a] == 0:
                mark[a] = 1
                n_marked += 1
    nth = max(1, min(n_threads, ns))
    for th in prange(nth):
        dist = np.full(n, np.inf)
        label = np.zeros(n, dtype=np.int64)
        pos = np.full(n, _NEVER, dtype=_I32)
        hn = np.empty(n, dtype=_I32)
        hk = np.empty(n)
        touched = np.empty(n, dtype=_I32)
        dummy = np.empty(1, dtype=np.int64)
        dc = np.full(nk, np.inf)
        lc = np.zeros(nk, dtype=np.int64)
        state = np.zeros(nk, dtype=np.uint8)
        nxt = np.empty(nk, dtype=_I32)
        prv = np.empty(nk, dtype=_I32)
        head = np.full(n_slots, -1, dtype=_I32)
        ctouched = np.empty(nk, dtype=_I32)
        for i in range(th, ns, nth):
            a = src_ptr[i]
            b = src_ptr[i + 1]
            if b == a:
                continue
            lab = np.zeros(b - a, dtype=np.int64)
            nt = _search(indptr, indices, w, src_nodes[a:b], src_times[a:b], lab, cutoff,
                         dist, label, dummy, pos, hn, hk, touched, dummy, 0, False, core_of, True)
            cs, ct, cl = _core_seeds(core_of, touched, nt, dist, label)
            nct = _core_search(c_ptr, c_idx, c_w, cs, ct, cl, cutoff, inv_delta, dc, lc, state,
                               nxt, prv, head, False, mark, n_marked, ctouched)
            for j in range(ntg):
                best = np.inf
                for k in range(tgt_ptr[j], tgt_ptr[j + 1]):
                    x = tgt_nodes[k]
                    d = dist[x]
                    q = a1[x]
                    if q >= 0 and dc[q] + o1[x] < d:
                        d = dc[q] + o1[x]
                    q = a2[x]
                    if q >= 0 and dc[q] + o2[x] < d:
                        d = dc[q] + o2[x]
                    d += tgt_times[k]
                    if d < best:
                        best = d
                if best <= cutoff:
                    out[i, j] = best
            for k in range(nt):
                dist[touched[k]] = np.inf
                pos[touched[k]] = _NEVER
            for k in range(nct):
                dc[ctouched[k]] = np.inf
                state[ctouched[k]] = 0
    return out


# ---------------------------------------------------------------------------------------------
# entry points


def _core(indptr, indices, w):
    """The reduced core of raw CSR arrays (times only: lengths are zero)."""
    from accessibility.network.core import build_core

    return build_core(indptr, indices, w, None)


def _n_threads() -> int:
    from numba import get_num_threads

    return get_num_threads()


def multi_source(indptr, indices, w, seed_nodes, seed_times, seed_labels, cutoff, red=None):
    """Every node's time from its nearest seed and that seed's label.

    Seed ``i`` is node ``seed_nodes[i]``, reached at ``seed_times[i]`` (seconds; repeats
    allowed, the best one counts). ``red`` is the CSR's :class:`~accessibility.network.core.ReducedCore` (built when omitted).

    Returns
    -------
    dist : float64 (n,)
        Seconds; ``inf`` when unreachable or beyond ``cutoff``.
    label : int64 (n,)
        ``seed_labels`` of the nearest seed; -1 when unreachable.
    """
    if red is None:
        red = _core(indptr, indices, w)
    return _multi_source(
        indptr, indices, w, *red.arrays(),
        np.asarray(seed_nodes, dtype=np.int64), np.asarray(seed_times, dtype=np.float64),
        np.asarray(seed_labels, dtype=np.int64), float(cutoff),
    )


def matrix(indptr, indices, w, src_ptr, src_nodes, src_times, tgt_ptr, tgt_nodes, tgt_times, cutoff, red=None):
    """Many-to-many times, parallel over sources on numba's threads.

    Source ``i`` starts from the seeds ``src_nodes[src_ptr[i]:src_ptr[i+1]]`` with initial times
    ``src_times[...]``; target ``j`` is reached at ``min(dist[tgt_nodes[k]] + tgt_times[k])`` over
    its anchors ``k`` in ``tgt_ptr[j]:tgt_ptr[j+1]``. Each search stops once every target node is
    settled.

    Returns
    -------
    out : float64 (n_sources, n_targets)
        Seconds; ``inf`` when unreachable or beyond ``cutoff``.
    """
    if red is None:
        red = _core(indptr, indices, w)
    i64, f64 = np.int64, np.float64
    return _matrix(
        indptr, indices, w, *red.arrays(),
        np.asarray(src_ptr, dtype=i64), np.asarray(src_nodes, dtype=i64), np.asarray(src_times, dtype=f64),
        np.asarray(tgt_ptr, dtype=i64), np.asarray(tgt_nodes, dtype=i64), np.asarray(tgt_times, dtype=f64),
        float(cutoff), _n_threads(),
    )


@njit(cache=True, parallel=True)
def _grouped_multi_source(indptr, indices, w, core_of, a1, o1, a2, o2, c_ptr, c_idx, c_w, inv_delta,
                          n_slots, group_ptr, seed_nodes, seed_times, seed_labels, query_nodes, cutoff,
                          n_threads):
    n = len(indptr) - 1
    nk = len(c_ptr) - 1
    ng = len(group_ptr) - 1
    nq = len(query_nodes)
    out_d = np.full((ng, nq), np.inf)
    out_l = np.full((ng, nq), -1, dtype=np.int64)
    nth = max(1, min(n_threads, ng))
    for th in prange(nth):
        dist = np.full(n, np.inf)
        label = np.full(n, -1, dtype=np.int64)
        pos = np.full(n, _NEVER, dtype=_I32)
        hn = np.empty(n, dtype=_I32)
        hk = np.empty(n)
        touched = np.empty(n, dtype=_I32)
        dummy = np.empty(1, dtype=np.int64)
        dc = np.full(nk, np.inf)
        lc = np.full(nk, -1, dtype=np.int64)
        state = np.zeros(nk, dtype=np.uint8)
        nxt = np.empty(nk, dtype=_I32)
        prv = np.empty(nk, dtype=_I32)
        head = np.full(n_slots, -1, dtype=_I32)
        ctouched = np.empty(nk, dtype=_I32)
        for g in range(th, ng, nth):
            a = group_ptr[g]
            b = group_ptr[g + 1]
            if b == a:
                continue
            nt = _search(indptr, indices, w, seed_nodes[a:b], seed_times[a:b], seed_labels[a:b], cutoff,
                         dist, label, dummy, pos, hn, hk, touched, dummy, 0, False, core_of, True)
            cs, ct, cl = _core_seeds(core_of, touched, nt, dist, label)
            nct = _core_search(c_ptr, c_idx, c_w, cs, ct, cl, cutoff, inv_delta, dc, lc, state, nxt, prv,
                               head, True, dummy, 0, ctouched)
            for j in range(nq):
                x = query_nodes[j]
                best = dist[x]
                bl = label[x]
                q = a1[x]
                if q >= 0:
                    d = dc[q] + o1[x]
                    if d < best:
                        best = d
                        bl = lc[q]
                q = a2[x]
                if q >= 0:
                    d = dc[q] + o2[x]
                    if d < best:
                        best = d
                        bl = lc[q]
                if best <= cutoff:
                    out_d[g, j] = best
                    out_l[g, j] = bl
            for k in range(nt):
                v = touched[k]
                dist[v] = np.inf
                label[v] = -1
                pos[v] = _NEVER
            for k in range(nct):
                v = ctouched[k]
                dc[v] = np.inf
                lc[v] = -1
                state[v] = 0
    return out_d, out_l


def grouped_multi_source(indptr, indices, w, group_ptr, seed_nodes, seed_times, seed_labels, query_nodes,
                         cutoff, red=None):
    """Several independent multi-source searches (one per group of seeds), parallel over groups,
    answered only at ``query_nodes``.

    Group ``g`` is the seeds ``group_ptr[g]:group_ptr[g+1]`` of ``seed_nodes`` / ``seed_times`` /
    ``seed_labels``. Each search gives exactly what :func:`multi_source` gives at the query
    nodes, without building the full-length arrays.

    Returns
    -------
    dist : float64 (n_groups, n_queries)
        Seconds; ``inf`` when unreachable or beyond ``cutoff``.
    label : int64 (n_groups, n_queries)
        Label of the nearest seed; -1 when unreachable.
    """
    if red is None:
        red = _core(indptr, indices, w)
    i64, f64 = np.int64, np.float64
    return _grouped_multi_source(
        indptr, indices, w, *red.arrays(),
        np.asarray(group_ptr, dtype=i64), np.asarray(seed_nodes, dtype=i64), np.asarray(seed_times, dtype=f64),
        np.asarray(seed_labels, dtype=i64), np.asarray(query_nodes, dtype=i64), float(cutoff), _n_threads(),
    )


@njit(cache=True)
def one_to_one_path(indptr, indices, w, seed_nodes, seed_times, target_nodes, cutoff):
    """Search from seeds until all target nodes are settled, keeping predecessors (full graph).

    Returns ``dist`` (n,), ``label`` (n,) (index of the seed) and ``pred`` (n,) (forward edge
    index used to reach each node, -1 for seeds and unreached nodes).
    """
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    label = np.full(n, -1, dtype=np.int64)
    pred = np.full(n, -1, dtype=np.int64)
    pos = np.full(n, _NEVER, dtype=_I32)
    hn = np.empty(n, dtype=_I32)
    hk = np.empty(n)
    touched = np.empty(n, dtype=_I32)
    tc = np.zeros(n, dtype=np.int64)
    nt = 0
    for t in target_nodes:
        if tc[t] == 0:
            nt += 1
        tc[t] += 1
    labels = np.arange(len(seed_nodes)).astype(np.int64)
    no_sinks = np.empty(1, dtype=_I32)
    _search(indptr, indices, w, seed_nodes, seed_times, labels, cutoff,
            dist, label, pred, pos, hn, hk, touched, tc, nt, True, no_sinks, False)
    return dist, label, pred
