"""numba Dijkstra kernels: arrays and scalars in, arrays out.

One binary min-heap with decrease-key (``pos`` gives each node's place in the heap), so the heap
never holds more than one entry per node. Node states in ``pos``: ``-1`` never reached,
``>= 0`` in the heap, ``-2`` settled. Unreachable nodes (and nodes beyond the cutoff) end at
``inf``.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

_NEVER = -1
_DONE = -2


@njit(cache=True, inline="always")
def _sift_up(hn, hk, pos, i):
    node = hn[i]
    key = hk[i]
    while i > 0:
        p = (i - 1) >> 1
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
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hk[c + 1] < hk[c]:
            c += 1
        if hk[c] >= key:
            break
        hn[i] = hn[c]
        hk[i] = hk[c]
        pos[hn[i]] = i
        i = c
    hn[i] = node
    hk[i] = key
    pos[node] = i


@njit(cache=True, inline="always")
def _push_or_decrease(hn, hk, pos, dist, size, v, d):
    """Insert ``v`` with key ``d`` or lower its key; return the new heap size (-1: no change)."""
    pv = pos[v]
    if pv == _NEVER:
        dist[v] = d
        hn[size] = v
        hk[size] = d
        pos[v] = size
        _sift_up(hn, hk, pos, size)
        return size + 1
    if pv >= 0 and d < dist[v]:
        dist[v] = d
        hk[pv] = d
        _sift_up(hn, hk, pos, pv)
        return size
    return -1


@njit(cache=True)
def _search(indptr, indices, w, seed_nodes, seed_times, seed_labels, cutoff,
            dist, label, pred, pos, hn, hk, touched, target_count, n_targets, track_pred):
    """Run one Dijkstra search from seeds, in place on the given work arrays.

    ``dist`` and ``pos`` must hold ``inf`` and ``-1`` on entry for every node (the caller resets
    the ``touched`` ones afterwards). Stops when the heap is empty, when the smallest key exceeds
    ``cutoff``, or when ``n_targets > 0`` nodes with ``target_count > 0`` are all settled.
    Returns the number of touched nodes. Nodes left in the heap get ``dist = inf``.
    """
    size = 0
    nt = 0
    for i in range(len(seed_nodes)):
        v = seed_nodes[i]
        d = seed_times[i]
        if not d <= cutoff:
            continue
        was_new = pos[v] == _NEVER
        r = _push_or_decrease(hn, hk, pos, dist, size, v, d)
        if r >= 0:
            if was_new:
                touched[nt] = v
                nt += 1
            size = r
            label[v] = seed_labels[i]
            if track_pred:
                pred[v] = -1
    remaining = n_targets
    while size > 0:
        u = hn[0]
        du = hk[0]
        if du > cutoff:
            break
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
        lu = label[u]
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            pv = pos[v]
            if pv == _DONE:
                continue
            nd = du + w[e]
            if pv == _NEVER:
                dist[v] = nd
                hn[size] = v
                hk[size] = nd
                pos[v] = size
                _sift_up(hn, hk, pos, size)
                size += 1
                touched[nt] = v
                nt += 1
                label[v] = lu
                if track_pred:
                    pred[v] = e
            elif nd < dist[v]:
                dist[v] = nd
                hk[pv] = nd
                _sift_up(hn, hk, pos, pv)
                label[v] = lu
                if track_pred:
                    pred[v] = e
    # whatever is still in the heap is not settled (beyond the cutoff or after the targets)
    for i in range(size):
        dist[hn[i]] = np.inf
    return nt


@njit(cache=True)
def multi_source(indptr, indices, w, seed_nodes, seed_times, seed_labels, cutoff):
    """Every node's time from its nearest seed and that seed's label.

    Returns
    -------
    dist : float64 (n,)
        Seconds; ``inf`` when unreachable or beyond ``cutoff``.
    label : int64 (n,)
        ``seed_labels`` of the nearest seed; -1 when unreachable.
    """
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    label = np.full(n, -1, dtype=np.int64)
    pos = np.full(n, _NEVER, dtype=np.int64)
    hn = np.empty(n, dtype=np.int64)
    hk = np.empty(n, dtype=np.float64)
    touched = np.empty(n, dtype=np.int64)
    dummy = np.empty(1, dtype=np.int64)
    _search(indptr, indices, w, seed_nodes, seed_times, seed_labels, cutoff,
            dist, label, dummy, pos, hn, hk, touched, dummy, 0, False)
    for v in range(n):
        if dist[v] == np.inf:
            label[v] = -1
    return dist, label


@njit(cache=True)
def one_to_one_path(indptr, indices, w, seed_nodes, seed_times, target_nodes, cutoff):
    """Search from seeds until all target nodes are settled, keeping predecessors.

    Returns ``dist`` (n,), ``label`` (n,) (index of the seed) and ``pred`` (n,) (forward edge
    index used to reach each node, -1 for seeds and unreached nodes).
    """
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    label = np.full(n, -1, dtype=np.int64)
    pred = np.full(n, -1, dtype=np.int64)
    pos = np.full(n, _NEVER, dtype=np.int64)
    hn = np.empty(n, dtype=np.int64)
    hk = np.empty(n, dtype=np.float64)
    touched = np.empty(n, dtype=np.int64)
    tc = np.zeros(n, dtype=np.int64)
    nt = 0
    for t in target_nodes:
        if tc[t] == 0:
            nt += 1
        tc[t] += 1
    labels = np.arange(len(seed_nodes)).astype(np.int64)
    _search(indptr, indices, w, seed_nodes, seed_times, labels, cutoff,
            dist, label, pred, pos, hn, hk, touched, tc, nt, True)
    return dist, label, pred


@njit(cache=True, parallel=True)
def matrix(indptr, indices, w, src_ptr, src_nodes, src_times,
           tgt_ptr, tgt_nodes, tgt_times, cutoff):
    """Many-to-many times, parallel over sources.

    Source ``i`` starts from the seeds ``src_nodes[src_ptr[i]:src_ptr[i+1]]`` with initial times
    ``src_times[...]``; target ``j`` is reached at ``min(dist[tgt_nodes[k]] + tgt_times[k])`` over
    its anchors ``k`` in ``tgt_ptr[j]:tgt_ptr[j+1]``. Each search stops once every target node is
    settled or the cutoff is passed.

    Returns
    -------
    out : float64 (n_sources, n_targets)
        Seconds; ``inf`` when unreachable or beyond ``cutoff``.
    """
    n = len(indptr) - 1
    ns = len(src_ptr) - 1
    ntg = len(tgt_ptr) - 1
    out = np.full((ns, ntg), np.inf)
    tc = np.zeros(n, dtype=np.int64)
    n_tnodes = 0
    for k in range(len(tgt_nodes)):
        if tc[tgt_nodes[k]] == 0:
            n_tnodes += 1
        tc[tgt_nodes[k]] += 1
    nthreads = max(1, min(get_num_threads(), ns))
    for th in prange(nthreads):
        dist = np.full(n, np.inf)
        label = np.zeros(n, dtype=np.int64)
        pos = np.full(n, _NEVER, dtype=np.int64)
        hn = np.empty(n, dtype=np.int64)
        hk = np.empty(n, dtype=np.float64)
        touched = np.empty(n, dtype=np.int64)
        dummy = np.empty(1, dtype=np.int64)
        for i in range(th, ns, nthreads):
            a = src_ptr[i]
            b = src_ptr[i + 1]
            if b == a:
                continue
            lab = np.zeros(b - a, dtype=np.int64)
            nt = _search(indptr, indices, w, src_nodes[a:b], src_times[a:b], lab, cutoff,
                         dist, label, dummy, pos, hn, hk, touched, tc, n_tnodes, False)
            for j in range(ntg):
                best = np.inf
                for k in range(tgt_ptr[j], tgt_ptr[j + 1]):
                    d = dist[tgt_nodes[k]] + tgt_times[k]
                    if d < best:
                        best = d
                if best <= cutoff:
                    out[i, j] = best
            for k in range(nt):
                v = touched[k]
                dist[v] = np.inf
                pos[v] = _NEVER
    return out
