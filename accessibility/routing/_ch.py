"""numba kernels for contraction hierarchies on the reduced core: arrays and scalars in, arrays out.

The hierarchy is built on the *core* of :class:`accessibility.network.core.ReducedCore` (dead-end
trees peeled, chains of the 2-core contracted), so the searches of this module see only the core;
the trees and chains are reached through each node's anchors, exactly as in ``_kernels``.

Every label is a pair (seconds, metres) compared lexicographically: a search returns the fastest
path and, of equally fast paths, the shortest. Witness searches, shortcut merging, bucket scans and
sweeps all use that order, so a length returned is the length of a fastest path, the same one
whatever the strategy (up to floating-point rounding of sums taken in a different order).

Build (:func:`contract`)
    Nodes are contracted one at a time by a priority, ``w_ed * edge difference + w_cn *
    contracted neighbours + w_level * level`` (level: one more than the highest level of the
    contracted neighbours), kept in a heap with lazy updates (a node's priority is recomputed
    when it reaches the top and it goes back if it is no longer the smallest) and neighbour
    updates (after a contraction). Contracting ``v`` runs, from each in-neighbour ``u``, a witness
    search that avoids ``v`` and stops after ``max_settled`` settled nodes, ``max_hops`` edges
    (0: no limit) or past the longest path through ``v``; a shortcut ``u -> w`` is added unless a
    path at least as good (time, then length) was found. A search that stops early only adds
    shortcuts, never loses a distance. Sequential and deterministic (ties by node id).
    The result is ranked: node ids of the hierarchy are the contraction ranks, the *upward*
    graph holds the edges ``v -> x`` with ``x > v`` and the *downward* graph the edges ``x -> v``
    with ``x > v``, stored at ``v``. Each edge keeps its middle node (``mid``, -1 for an edge of
    the core) for unpacking.

Queries
    A source (a place's out anchors: graph nodes and initial times) first runs the *local phase*
    of ``_kernels`` (a heap search in the full graph that settles core nodes without expanding
    them), then an upward search from the core nodes it reached. A target is reached at the best
    of the local phase (same tree or chain) and of ``core(anchor) + offset`` over its anchors.

    * buckets (:func:`backward_spaces`, :func:`_bucket_rows_chunk`): a backward upward search
      from each target's anchors leaves (target, seconds, metres) in the bucket of every node it
      settles; a forward upward search from each source scans the buckets of the nodes it
      settles. Both use stall-on-demand. Parallel over targets, then over sources
      (:func:`run_rows`).
    * PHAST sweeps (:func:`phast_multi_source`, :func:`_rphast_rows_chunk`): after the upward
      search, every node (or only the nodes above the targets, *restricted* PHAST) takes the best
      of its label and of its higher neighbours' labels through downward edges, in decreasing
      rank.

Parallel kernels are a ``prange`` over threads that only calls a plain ``@njit`` function
holding one thread's work (``_*_chunk``): numba's parfor pass then leaves that work as written
(in the body of a ``prange`` it hoisted work arrays, and the kernel ran slower even on one
thread), and small jobs call the chunk directly, without a parallel region.
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
# a 4-ary heap of (time, length) keys with decrease-key


@njit(cache=True)
def _less(t1, l1, t2, l2):
    """``(t1, l1) < (t2, l2)`` lexicographically."""
    return t1 < t2 or (t1 == t2 and l1 < l2)


@njit(cache=True)
def _sift_up(hn, ht, hl, pos, i):
    node = hn[i]
    t = ht[i]
    ln = hl[i]
    while i > 0:
        p = (i - 1) >> 2
        if not (t < ht[p] or (t == ht[p] and ln < hl[p])):
            break
        hn[i] = hn[p]
        ht[i] = ht[p]
        hl[i] = hl[p]
        pos[hn[i]] = i
        i = p
    hn[i] = node
    ht[i] = t
    hl[i] = ln
    pos[node] = i


@njit(cache=True)
def _sift_down(hn, ht, hl, pos, i, size):
    node = hn[i]
    t = ht[i]
    ln = hl[i]
    while True:
        c = 4 * i + 1
        if c >= size:
            break
        best = c
        bt = ht[c]
        bl = hl[c]
        for j in range(c + 1, min(c + 4, size)):
            if ht[j] < bt or (ht[j] == bt and hl[j] < bl):
                best = j
                bt = ht[j]
                bl = hl[j]
        if not (bt < t or (bt == t and bl < ln)):
            break
        hn[i] = hn[best]
        ht[i] = bt
        hl[i] = bl
        pos[hn[i]] = i
        i = best
    hn[i] = node
    ht[i] = t
    hl[i] = ln
    pos[node] = i


@njit(cache=True)
def _push(hn, ht, hl, pos, size, v, t, ln):
    hn[size] = v
    ht[size] = t
    hl[size] = ln
    pos[v] = size
    _sift_up(hn, ht, hl, pos, size)
    return size + 1


@njit(cache=True)
def _pop(hn, ht, hl, pos, size):
    """Remove the top; returns the new size (the top was ``hn[0]``, read it before)."""
    u = hn[0]
    size -= 1
    if size > 0:
        hn[0] = hn[size]
        ht[0] = ht[size]
        hl[0] = hl[size]
        pos[hn[0]] = 0
        _sift_down(hn, ht, hl, pos, 0, size)
    pos[u] = _DONE
    return size


@njit(cache=True)
def _rekey(hn, ht, hl, pos, i, size, t, ln):
    """Set the key of heap slot ``i``, moving it up or down."""
    node = hn[i]
    ht[i] = t
    hl[i] = ln
    _sift_up(hn, ht, hl, pos, i)
    _sift_down(hn, ht, hl, pos, pos[node], size)


@njit(cache=True)
def _workspace(n, lab_fill):
    """The work arrays of a search over ``n`` nodes, in the state :func:`_reset` gives back:
    ``dist``, ``dlen`` (``inf``), ``lab`` (``lab_fill``), ``pos`` (never seen), the heap's node,
    time and length arrays, and the list of touched nodes. Allocated once per call or thread."""
    return (np.full(n, np.inf), np.full(n, np.inf), np.full(n, lab_fill, dtype=np.int64),
            np.full(n, _NEVER, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n), np.empty(n),
            np.empty(n, dtype=np.int64))


@njit(cache=True)
def _reset(touched, n, dist, dlen, pos):
    """Give the ``n`` first ``touched`` nodes their state before a search: no label, never seen."""
    for q in range(n):
        x = touched[q]
        dist[x] = np.inf
        dlen[x] = np.inf
        pos[x] = _NEVER


@njit(cache=True)
def _seed(seed_nodes, seed_t, seed_l, seed_lab, cutoff, dist, dlen, lab, pos, hn, ht, hl, touched):
    """Put the seeds within ``cutoff`` in an empty heap (the best label of a node seeded twice).

    Returns ``(heap size, n_touched)``.
    """
    size = 0
    nt = 0
    for i in range(len(seed_nodes)):
        v = seed_nodes[i]
        t = seed_t[i]
        l0 = seed_l[i]
        if not t <= cutoff:
            continue
        p = pos[v]
        if p == _NEVER:
            touched[nt] = v
            nt += 1
            dist[v] = t
            dlen[v] = l0
            lab[v] = seed_lab[i]
            size = _push(hn, ht, hl, pos, size, v, t, l0)
        elif p >= 0 and _less(t, l0, dist[v], dlen[v]):
            dist[v] = t
            dlen[v] = l0
            lab[v] = seed_lab[i]
            ht[p] = t
            hl[p] = l0
            _sift_up(hn, ht, hl, pos, p)
    return size, nt


@njit(cache=True)
def _relax(u, du, lu, ptr, idx, t, ln, cutoff, dist, dlen, lab, pos, hn, ht, hl, size, touched, nt):
    """Relax the arcs ``ptr[u]:ptr[u + 1]`` of the settled node ``u`` (label ``(du, lu)``).

    Labels above ``cutoff`` are never stored; an improved node takes ``u``'s seed label.
    Returns ``(heap size, n_touched)``.
    """
    bu = lab[u]
    for e in range(ptr[u], ptr[u + 1]):
        v = idx[e]
        pv = pos[v]
        if pv == _DONE:
            continue
        nd = du + t[e]
        if not nd <= cutoff:
            continue
        nl = lu + ln[e]
        if pv == _NEVER:
            dist[v] = nd
            dlen[v] = nl
            size = _push(hn, ht, hl, pos, size, v, nd, nl)
            touched[nt] = v
            nt += 1
        elif nd < dist[v] or (nd == dist[v] and nl < dlen[v]):
            dist[v] = nd
            dlen[v] = nl
            ht[pv] = nd
            hl[pv] = nl
            _sift_up(hn, ht, hl, pos, pv)
        else:
            continue
        lab[v] = bu
    return size, nt


# ---------------------------------------------------------------------------------------------
# lexicographic Dijkstra on a CSR: the local phase, and the reference core search


@njit(cache=True)
def lex_search(indptr, indices, w, ln, seed_nodes, seed_t, seed_l, seed_lab, cutoff,
               dist, dlen, lab, pos, hn, ht, hl, touched, sinks, use_sinks, tmark, n_targets):
    """Dijkstra on (time, length) labels, in place on the given work arrays.

    ``dist``/``dlen`` hold ``inf`` and ``pos`` -1 on entry for every node; the caller resets the
    ``touched`` ones (``pos`` ends at -2 for settled nodes). With ``use_sinks``, nodes with
    ``sinks >= 0`` are settled but not expanded. Stops when the ``n_targets > 0`` nodes with
    ``tmark > 0`` are settled (nodes left in the heap then get ``inf``). Times above ``cutoff``
    are never stored. ``lab`` gets the ``seed_lab`` of the seed each label comes from.
    Returns the number of touched nodes.
    """
    size, nt = _seed(seed_nodes, seed_t, seed_l, seed_lab, cutoff, dist, dlen, lab, pos, hn, ht, hl, touched)
    remaining = n_targets
    while size > 0:
        u = hn[0]
        du = ht[0]
        lu = hl[0]
        size = _pop(hn, ht, hl, pos, size)
        if n_targets > 0 and tmark[u] > 0:
            remaining -= 1
            if remaining == 0:
                break
        if use_sinks and sinks[u] >= 0:
            continue
        size, nt = _relax(u, du, lu, indptr, indices, w, ln, cutoff, dist, dlen, lab, pos, hn, ht, hl,
                          size, touched, nt)
    for i in range(size):
        dist[hn[i]] = np.inf
        dlen[hn[i]] = np.inf
    return nt


# ---------------------------------------------------------------------------------------------
# build: adjacency lists of the uncontracted nodes, each a slice of a pool that grows


@njit(cache=True)
def _find(beg, cnt, nbr, v, x):
    """Position of neighbour ``x`` in the list of ``v``, -1 when absent."""
    for k in range(beg[v], beg[v] + cnt[v]):
        if nbr[k] == x:
            return k
    return -1


@njit(cache=True)
def _append(beg, cnt, cap, top, nbr, at, al, am, v, x, t, ln, mid):
    """Append an arc to the list of ``v`` (moved to the pool's top, twice as long, when full).

    The caller makes sure the pool has room (:func:`_room`).
    """
    if cnt[v] == cap[v]:
        nc = max(4, 2 * cap[v])
        b = top[0]
        o = beg[v]
        for k in range(cnt[v]):
            nbr[b + k] = nbr[o + k]
            at[b + k] = at[o + k]
            al[b + k] = al[o + k]
            am[b + k] = am[o + k]
        beg[v] = b
        cap[v] = nc
        top[0] = b + nc
    k = beg[v] + cnt[v]
    nbr[k] = x
    at[k] = t
    al[k] = ln
    am[k] = mid
    cnt[v] += 1


@njit(cache=True)
def _drop(beg, cnt, nbr, at, al, am, v, x):
    """Remove neighbour ``x`` from the list of ``v`` (the last arc takes its place)."""
    k = _find(beg, cnt, nbr, v, x)
    if k >= 0:
        last = beg[v] + cnt[v] - 1
        nbr[k] = nbr[last]
        at[k] = at[last]
        al[k] = al[last]
        am[k] = am[last]
        cnt[v] -= 1


@njit(cache=True)
def _repack(beg, cnt, cap, top, nbr, at, al, am, extra):
    """The lists copied into new pools, packed, with room for ``extra`` more slots."""
    n = len(beg)
    live = 0
    for v in range(n):
        if cnt[v] > 0:
            live += max(4, 2 * cnt[v])
    size = max(2 * live, live + extra) + 16
    nn = np.empty(size, dtype=_I32)
    nt = np.empty(size)
    nl = np.empty(size)
    nm = np.empty(size, dtype=_I32)
    b = 0
    for v in range(n):
        c = cnt[v]
        o = beg[v]
        for k in range(c):
            nn[b + k] = nbr[o + k]
            nt[b + k] = at[o + k]
            nl[b + k] = al[o + k]
            nm[b + k] = am[o + k]
        beg[v] = b
        cap[v] = max(4, 2 * c) if c > 0 else 0
        b += cap[v]
    top[0] = b
    return nn, nt, nl, nm


@njit(cache=True)
def _room(beg, cnt, cap, nbr, v, k_new):
    """Pool slots that appending up to ``k_new`` arcs to each neighbour list of ``v`` may take."""
    need = 0
    for k in range(beg[v], beg[v] + cnt[v]):
        need += 6 * cap[nbr[k]] + 4 * k_new + 8
    return need


@njit(cache=True)
def _witness(src, skip, tmax, n_tgt, max_settled, max_hops, ob, oc, on, ot, ol,
             wt, wl, wpos, whop, hn, ht, hl, touched, tmark):
    """Lexicographic Dijkstra from ``src`` avoiding ``skip``, bounded; labels left in ``wt``/``wl``.

    Stops once the ``n_tgt`` nodes with ``tmark > 0`` are settled, past ``tmax`` seconds, after
    ``max_settled`` settled nodes; nodes ``max_hops`` arcs away (if > 0) are not expanded.
    Labels still in the heap are kept: each is the label of a real path. Returns the number of
    touched nodes (the caller resets ``wt``, ``wl``, ``wpos`` for them).
    """
    wt[src] = 0.0
    wl[src] = 0.0
    whop[src] = 0
    size = _push(hn, ht, hl, wpos, 0, src, 0.0, 0.0)
    touched[0] = src
    nt = 1
    settled = 0
    remaining = n_tgt
    while size > 0:
        x = hn[0]
        dt = ht[0]
        dl = hl[0]
        if dt > tmax:
            break
        size = _pop(hn, ht, hl, wpos, size)
        if tmark[x] > 0:
            remaining -= 1
            if remaining == 0:
                break
        settled += 1
        if settled >= max_settled:
            break
        h = whop[x]
        if max_hops > 0 and h >= max_hops:
            continue
        for k in range(ob[x], ob[x] + oc[x]):
            y = on[k]
            if y == skip:
                continue
            py = wpos[y]
            if py == _DONE:
                continue
            nd = dt + ot[k]
            if nd > tmax:
                continue
            nl = dl + ol[k]
            if py == _NEVER:
                wt[y] = nd
                wl[y] = nl
                whop[y] = h + 1
                size = _push(hn, ht, hl, wpos, size, y, nd, nl)
                touched[nt] = y
                nt += 1
            elif nd < wt[y] or (nd == wt[y] and nl < wl[y]):
                wt[y] = nd
                wl[y] = nl
                whop[y] = h + 1
                ht[py] = nd
                hl[py] = nl
                _sift_up(hn, ht, hl, wpos, py)
    return nt


@njit(cache=True)
def _shortcuts(v, add, max_settled, max_hops,
               ob, oc, ocap, otop, on, ot, ol, om,
               ib, ic, icap, itop, inn, it, il, im,
               wt, wl, wpos, whop, hn, ht, hl, touched, tmark):
    """Shortcuts that contracting ``v`` needs: counted, and added when ``add``."""
    count = 0
    for ka in range(ib[v], ib[v] + ic[v]):
        u = inn[ka]
        a_t = it[ka]
        a_l = il[ka]
        n_tgt = 0
        tmax = -1.0
        for kb in range(ob[v], ob[v] + oc[v]):
            x = on[kb]
            if x == u:
                continue
            tmark[x] = 1
            n_tgt += 1
            if a_t + ot[kb] > tmax:
                tmax = a_t + ot[kb]
        if n_tgt == 0:
            continue
        nt = _witness(u, v, tmax, n_tgt, max_settled, max_hops, ob, oc, on, ot, ol,
                      wt, wl, wpos, whop, hn, ht, hl, touched, tmark)
        for kb in range(ob[v], ob[v] + oc[v]):
            x = on[kb]
            if x == u:
                continue
            tmark[x] = 0
            st = a_t + ot[kb]
            sl = a_l + ol[kb]
            if st < wt[x] or (st == wt[x] and sl < wl[x]):
                count += 1
                if add:
                    k = _find(ob, oc, on, u, x)
                    if k >= 0:
                        # an arc u -> x exists (the search may have stopped before seeing it):
                        # improve it when the path through v is better
                        if st < ot[k] or (st == ot[k] and sl < ol[k]):
                            ot[k] = st
                            ol[k] = sl
                            om[k] = v
                            k2 = _find(ib, ic, inn, x, u)
                            it[k2] = st
                            il[k2] = sl
                            im[k2] = v
                    else:
                        _append(ob, oc, ocap, otop, on, ot, ol, om, u, x, st, sl, v)
                        _append(ib, ic, icap, itop, inn, it, il, im, x, u, st, sl, v)
        for k in range(nt):  # _reset by hand: 2 % of the build as a call
            y = touched[k]
            wt[y] = np.inf
            wl[y] = np.inf
            wpos[y] = _NEVER
    return count


@njit(cache=True)
def _priority(v, w_ed, w_cn, w_lvl, cn, level, max_settled, max_hops,
              ob, oc, ocap, otop, on, ot, ol, om,
              ib, ic, icap, itop, inn, it, il, im,
              wt, wl, wpos, whop, hn, ht, hl, touched, tmark):
    sc = _shortcuts(v, False, max_settled, max_hops,
                    ob, oc, ocap, otop, on, ot, ol, om,
                    ib, ic, icap, itop, inn, it, il, im,
                    wt, wl, wpos, whop, hn, ht, hl, touched, tmark)
    return w_ed * (sc - ic[v] - oc[v]) + w_cn * cn[v] + w_lvl * level[v]


@njit(cache=True)
def _ranked_csr(nk, rank, f_lo, f_hi, f_t, f_l, f_mid, f_up, nf, want_up):
    """CSR in rank ids of the final arcs of one direction, stored at their lower end."""
    cnt = 0
    for i in range(nf):
        if f_up[i] == want_up:
            cnt += 1
    key = np.empty(cnt, dtype=np.int64)
    sel = np.empty(cnt, dtype=np.int64)
    k = 0
    for i in range(nf):
        if f_up[i] == want_up:
            key[k] = np.int64(rank[f_lo[i]]) * nk + rank[f_hi[i]]
            sel[k] = i
            k += 1
    order = np.argsort(key, kind="mergesort")
    ptr = np.zeros(nk + 1, dtype=np.int64)
    idx = np.empty(cnt, dtype=_I32)
    tt = np.empty(cnt)
    ll = np.empty(cnt)
    mid = np.empty(cnt, dtype=_I32)
    for k in range(cnt):
        i = sel[order[k]]
        ptr[rank[f_lo[i]] + 1] += 1
        idx[k] = rank[f_hi[i]]
        tt[k] = f_t[i]
        ll[k] = f_l[i]
        mid[k] = rank[f_mid[i]] if f_mid[i] >= 0 else -1
    for r in range(nk):
        ptr[r + 1] += ptr[r]
    return ptr, idx, tt, ll, mid


@njit(cache=True)
def contract(c_ptr, c_idx, c_t, c_l, max_settled, max_hops, w_ed, w_cn, w_lvl, lazy):
    """Contraction hierarchy of a CSR graph (see the module docstring).

    Parameters
    ----------
    c_ptr, c_idx, c_t, c_l : the graph (no self-loop, no parallel arcs), times and lengths.
    max_settled, max_hops : int
        Witness search limits (``max_hops`` 0: none).
    w_ed, w_cn, w_lvl : float
        Priority weights of edge difference, contracted neighbours and level.
    lazy : bool
        Recompute a node's priority when it reaches the top of the queue.

    Returns
    -------
    rank : int32 (nk,)
        Contraction rank of each node.
    up_ptr, up_idx, up_t, up_l, up_mid : upward graph in rank ids (arcs ``r -> up_idx``).
    dn_ptr, dn_idx, dn_t, dn_l, dn_mid : downward graph in rank ids (arcs ``dn_idx -> r``).
    n_shortcuts : int
    """
    nk = len(c_ptr) - 1
    m = len(c_idx)
    # out lists
    ob = np.empty(nk, dtype=np.int64)
    oc = np.zeros(nk, dtype=np.int64)
    ocap = np.empty(nk, dtype=np.int64)
    indeg = np.zeros(nk, dtype=np.int64)
    for e in range(m):
        indeg[c_idx[e]] += 1
    ib = np.empty(nk, dtype=np.int64)
    ic = np.zeros(nk, dtype=np.int64)
    icap = np.empty(nk, dtype=np.int64)
    so = 0
    si = 0
    for v in range(nk):
        d = c_ptr[v + 1] - c_ptr[v]
        ocap[v] = max(4, 2 * d)
        ob[v] = so
        so += ocap[v]
        icap[v] = max(4, 2 * indeg[v])
        ib[v] = si
        si += icap[v]
    otop = np.array([so], dtype=np.int64)
    itop = np.array([si], dtype=np.int64)
    on = np.empty(2 * so + 1024, dtype=_I32)
    ot = np.empty(2 * so + 1024)
    ol = np.empty(2 * so + 1024)
    om = np.empty(2 * so + 1024, dtype=_I32)
    inn = np.empty(2 * si + 1024, dtype=_I32)
    it = np.empty(2 * si + 1024)
    il = np.empty(2 * si + 1024)
    im = np.empty(2 * si + 1024, dtype=_I32)
    for u in range(nk):
        for e in range(c_ptr[u], c_ptr[u + 1]):
            x = c_idx[e]
            k = ob[u] + oc[u]
            on[k] = x
            ot[k] = c_t[e]
            ol[k] = c_l[e]
            om[k] = -1
            oc[u] += 1
            k = ib[x] + ic[x]
            inn[k] = u
            it[k] = c_t[e]
            il[k] = c_l[e]
            im[k] = -1
            ic[x] += 1
    # witness search work arrays
    wt = np.full(nk, np.inf)
    wl = np.full(nk, np.inf)
    wpos = np.full(nk, _NEVER, dtype=np.int64)
    whop = np.zeros(nk, dtype=np.int64)
    hn = np.empty(nk, dtype=np.int64)
    ht = np.empty(nk)
    hl = np.empty(nk)
    touched = np.empty(nk, dtype=np.int64)
    tmark = np.zeros(nk, dtype=np.uint8)
    cn = np.zeros(nk, dtype=np.int64)
    level = np.zeros(nk, dtype=np.int64)
    # the queue: (priority, node id)
    qn = np.empty(nk, dtype=np.int64)
    qt = np.empty(nk)
    ql = np.empty(nk)
    qpos = np.full(nk, _NEVER, dtype=np.int64)
    qsize = 0
    for v in range(nk):
        p = _priority(v, w_ed, w_cn, w_lvl, cn, level, max_settled, max_hops,
                      ob, oc, ocap, otop, on, ot, ol, om, ib, ic, icap, itop, inn, it, il, im,
                      wt, wl, wpos, whop, hn, ht, hl, touched, tmark)
        qsize = _push(qn, qt, ql, qpos, qsize, v, p, float(v))
    # final arcs
    cap_f = 2 * m + 16
    f_lo = np.empty(cap_f, dtype=_I32)
    f_hi = np.empty(cap_f, dtype=_I32)
    f_t = np.empty(cap_f)
    f_l = np.empty(cap_f)
    f_mid = np.empty(cap_f, dtype=_I32)
    f_up = np.empty(cap_f, dtype=np.bool_)
    nf = 0
    rank = np.full(nk, -1, dtype=_I32)
    nbrs = np.empty(nk, dtype=np.int64)
    mark = np.zeros(nk, dtype=np.uint8)
    n_short = 0
    r = 0
    while qsize > 0:
        v = qn[0]
        qsize = _pop(qn, qt, ql, qpos, qsize)
        if lazy and qsize > 0:
            p = _priority(v, w_ed, w_cn, w_lvl, cn, level, max_settled, max_hops,
                          ob, oc, ocap, otop, on, ot, ol, om, ib, ic, icap, itop, inn, it, il, im,
                          wt, wl, wpos, whop, hn, ht, hl, touched, tmark)
            if _less(qt[0], ql[0], p, float(v)):
                qsize = _push(qn, qt, ql, qpos, qsize, v, p, float(v))
                continue
        # room in the pools for the shortcuts of v
        need = _room(ib, ic, ocap, inn, v, oc[v])
        if otop[0] + need > len(on):
            on, ot, ol, om = _repack(ob, oc, ocap, otop, on, ot, ol, om, need)
        need = _room(ob, oc, icap, on, v, ic[v])
        if itop[0] + need > len(inn):
            inn, it, il, im = _repack(ib, ic, icap, itop, inn, it, il, im, need)
        # its arcs are final
        if nf + oc[v] + ic[v] > cap_f:
            cap_f = 2 * (nf + oc[v] + ic[v])
            f_lo2 = np.empty(cap_f, dtype=_I32)
            f_hi2 = np.empty(cap_f, dtype=_I32)
            f_t2 = np.empty(cap_f)
            f_l2 = np.empty(cap_f)
            f_mid2 = np.empty(cap_f, dtype=_I32)
            f_up2 = np.empty(cap_f, dtype=np.bool_)
            f_lo2[:nf] = f_lo[:nf]
            f_hi2[:nf] = f_hi[:nf]
            f_t2[:nf] = f_t[:nf]
            f_l2[:nf] = f_l[:nf]
            f_mid2[:nf] = f_mid[:nf]
            f_up2[:nf] = f_up[:nf]
            f_lo, f_hi, f_t, f_l, f_mid, f_up = f_lo2, f_hi2, f_t2, f_l2, f_mid2, f_up2
        for k in range(ob[v], ob[v] + oc[v]):
            f_lo[nf] = v
            f_hi[nf] = on[k]
            f_t[nf] = ot[k]
            f_l[nf] = ol[k]
            f_mid[nf] = om[k]
            f_up[nf] = True
            nf += 1
        for k in range(ib[v], ib[v] + ic[v]):
            f_lo[nf] = v
            f_hi[nf] = inn[k]
            f_t[nf] = it[k]
            f_l[nf] = il[k]
            f_mid[nf] = im[k]
            f_up[nf] = False
            nf += 1
        n_short += _shortcuts(v, True, max_settled, max_hops,
                              ob, oc, ocap, otop, on, ot, ol, om,
                              ib, ic, icap, itop, inn, it, il, im,
                              wt, wl, wpos, whop, hn, ht, hl, touched, tmark)
        nn = 0
        for k in range(ob[v], ob[v] + oc[v]):
            x = on[k]
            if mark[x] == 0:
                mark[x] = 1
                nbrs[nn] = x
                nn += 1
            _drop(ib, ic, inn, it, il, im, x, v)
        for k in range(ib[v], ib[v] + ic[v]):
            x = inn[k]
            if mark[x] == 0:
                mark[x] = 1
                nbrs[nn] = x
                nn += 1
            _drop(ob, oc, on, ot, ol, om, x, v)
        oc[v] = 0
        ic[v] = 0
        rank[v] = r
        r += 1
        for i in range(nn):
            x = nbrs[i]
            mark[x] = 0
            cn[x] += 1
            if level[v] + 1 > level[x]:
                level[x] = level[v] + 1
            p = _priority(x, w_ed, w_cn, w_lvl, cn, level, max_settled, max_hops,
                          ob, oc, ocap, otop, on, ot, ol, om, ib, ic, icap, itop, inn, it, il, im,
                          wt, wl, wpos, whop, hn, ht, hl, touched, tmark)
            _rekey(qn, qt, ql, qpos, qpos[x], qsize, p, float(x))
    up = _ranked_csr(nk, rank, f_lo, f_hi, f_t, f_l, f_mid, f_up, nf, True)
    dn = _ranked_csr(nk, rank, f_lo, f_hi, f_t, f_l, f_mid, f_up, nf, False)
    return (rank, up[0], up[1], up[2], up[3], up[4], dn[0], dn[1], dn[2], dn[3], dn[4], n_short)


# ---------------------------------------------------------------------------------------------
# queries


@njit(cache=True)
def upward(g_ptr, g_idx, g_t, g_l, s_ptr, s_idx, s_t, s_l, seed_nodes, seed_t, seed_l, seed_lab,
           cutoff, stall, dist, dlen, lab, pos, hn, ht, hl, touched, space):
    """Search of the ranked hierarchy along ``g`` (arcs to higher ranks), in place.

    Forward: ``g`` is the upward graph and ``s`` the downward one; backward (labels are times
    *to* the seeds): the other way round. With ``stall`` (stall-on-demand), a node whose label
    is beaten through an arc of ``s`` from a node already labelled is neither expanded nor put
    in ``space``. Work arrays as in :func:`lex_search`, no early stop. Returns
    ``(n_touched, n_space)``; ``space[:n_space]`` are the settled unstalled nodes in order.
    """
    size, nt = _seed(seed_nodes, seed_t, seed_l, seed_lab, cutoff, dist, dlen, lab, pos, hn, ht, hl, touched)
    ns = 0
    while size > 0:
        u = hn[0]
        du = ht[0]
        lu = hl[0]
        size = _pop(hn, ht, hl, pos, size)
        if stall:
            stalled = False
            for k in range(s_ptr[u], s_ptr[u + 1]):
                x = s_idx[k]
                c = dist[x] + s_t[k]
                if c < du or (c == du and dlen[x] + s_l[k] < lu):
                    stalled = True
                    break
            if stalled:
                continue
        space[ns] = u
        ns += 1
        size, nt = _relax(u, du, lu, g_ptr, g_idx, g_t, g_l, cutoff, dist, dlen, lab, pos, hn, ht, hl,
                          size, touched, nt)
    return nt, ns


@njit(cache=True)
def _target_seeds(a1, o1t, o1l, a2, o2t, o2l, tgt_ptr, tgt_nodes, tgt_t, tgt_l):
    """Each target's seeds in the hierarchy (CSR): anchors of its anchor nodes, with offsets."""
    ntg = len(tgt_ptr) - 1
    ptr = np.zeros(ntg + 1, dtype=np.int64)
    for j in range(ntg):
        c = 0
        for k in range(tgt_ptr[j], tgt_ptr[j + 1]):
            x = tgt_nodes[k]
            if a1[x] >= 0:
                c += 1
            if a2[x] >= 0:
                c += 1
        ptr[j + 1] = ptr[j] + c
    node = np.empty(ptr[ntg], dtype=_I32)
    tt = np.empty(ptr[ntg])
    ll = np.empty(ptr[ntg])
    for j in range(ntg):
        q = ptr[j]
        for k in range(tgt_ptr[j], tgt_ptr[j + 1]):
            x = tgt_nodes[k]
            if a1[x] >= 0:
                node[q] = a1[x]
                tt[q] = o1t[x] + tgt_t[k]
                ll[q] = o1l[x] + tgt_l[k]
                q += 1
            if a2[x] >= 0:
                node[q] = a2[x]
                tt[q] = o2t[x] + tgt_t[k]
                ll[q] = o2l[x] + tgt_l[k]
                q += 1
    return ptr, node, tt, ll


@njit(cache=True)
def _node_targets(n, tgt_ptr, tgt_nodes, tgt_t, tgt_l, node_rank):
    """For each eliminated graph node, the targets anchored at it (CSR over nodes)."""
    ntg = len(tgt_ptr) - 1
    ptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(len(tgt_nodes)):
        x = tgt_nodes[k]
        if node_rank[x] < 0:
            ptr[x + 1] += 1
    for x in range(n):
        ptr[x + 1] += ptr[x]
    nxt = ptr[:-1].copy()
    tg = np.empty(ptr[n], dtype=_I32)
    tt = np.empty(ptr[n])
    ll = np.empty(ptr[n])
    for j in range(ntg):
        for k in range(tgt_ptr[j], tgt_ptr[j + 1]):
            x = tgt_nodes[k]
            if node_rank[x] < 0:
                q = nxt[x]
                tg[q] = j
                tt[q] = tgt_t[k]
                ll[q] = tgt_l[k]
                nxt[x] += 1
    return ptr, tg, tt, ll


@njit(cache=True)
def _backward_chunk(th, nth, up_ptr, up_idx, up_t, up_l, dn_ptr, dn_idx, dn_t, dn_l,
                    ts_ptr, ts_node, ts_t, ts_l, cutoff, stall, bn, bt, bl, start, count, used):
    """The backward searches of targets ``th, th + nth, ...`` into row ``th`` of ``bn/bt/bl``."""
    nk = len(up_ptr) - 1
    ntg = len(ts_ptr) - 1
    cap = bn.shape[1]
    dist = np.full(nk, np.inf)
    dlen = np.full(nk, np.inf)
    lab = np.zeros(nk, dtype=np.int64)
    pos = np.full(nk, _NEVER, dtype=np.int64)
    hn = np.empty(nk, dtype=np.int64)
    ht = np.empty(nk)
    hl = np.empty(nk)
    touched = np.empty(nk, dtype=np.int64)
    space = np.empty(nk, dtype=np.int64)
    lab0 = np.zeros(len(ts_node), dtype=np.int64)
    p = 0
    for j in range(th, ntg, nth):
        a = ts_ptr[j]
        b = ts_ptr[j + 1]
        nt, ns = upward(dn_ptr, dn_idx, dn_t, dn_l, up_ptr, up_idx, up_t, up_l,
                        ts_node[a:b], ts_t[a:b], ts_l[a:b], lab0[a:b], cutoff, stall,
                        dist, dlen, lab, pos, hn, ht, hl, touched, space)
        if p + ns <= cap:
            for q in range(ns):
                v = space[q]
                bn[th, p + q] = v
                bt[th, p + q] = dist[v]
                bl[th, p + q] = dlen[v]
        start[j] = p
        count[j] = ns
        p += ns
        _reset(touched, nt, dist, dlen, pos)
    used[th] = p


@njit(cache=True, parallel=True)
def _backward_par(nth, up_ptr, up_idx, up_t, up_l, dn_ptr, dn_idx, dn_t, dn_l,
                  ts_ptr, ts_node, ts_t, ts_l, cutoff, stall, bn, bt, bl, start, count, used):
    for th in prange(nth):
        _backward_chunk(th, nth, up_ptr, up_idx, up_t, up_l, dn_ptr, dn_idx, dn_t, dn_l,
                        ts_ptr, ts_node, ts_t, ts_l, cutoff, stall, bn, bt, bl, start, count, used)


def backward_spaces(up, dn, ts, cutoff, stall, cap, n_threads):
    """Backward searches of every target; their spaces in one row per thread.

    Target ``j`` is done by thread ``j % nth``; its entries are ``row[start[j]:start[j] +
    count[j]]`` when ``used[th] <= cap`` (else they are only counted). Returns
    ``bn, bt, bl, start, count, used``. Runs without a parallel region for one thread.
    """
    ntg = len(ts[0]) - 1
    nth = max(1, min(n_threads, ntg))
    bn = np.empty((nth, cap), dtype=_I32)
    bt = np.empty((nth, cap))
    bl = np.empty((nth, cap))
    start = np.zeros(ntg, dtype=np.int64)
    count = np.zeros(ntg, dtype=np.int64)
    used = np.zeros(nth, dtype=np.int64)
    args = (*up, *dn, *ts, cutoff, stall, bn, bt, bl, start, count, used)
    if nth == 1:
        _backward_chunk(0, 1, *args)
    else:
        _backward_par(nth, *args)
    return bn, bt, bl, start, count, used


@njit(cache=True)
def _bucket_csr(nk, bn, bt, bl, start, count):
    """Buckets by node (CSR), entries of a node in target order."""
    nth = bn.shape[0]
    ntg = len(start)
    ptr = np.zeros(nk + 1, dtype=np.int64)
    for j in range(ntg):
        th = j % nth
        for q in range(start[j], start[j] + count[j]):
            ptr[bn[th, q] + 1] += 1
    for v in range(nk):
        ptr[v + 1] += ptr[v]
    nxt = ptr[:-1].copy()
    tg = np.empty(ptr[nk], dtype=_I32)
    tt = np.empty(ptr[nk])
    ll = np.empty(ptr[nk])
    for j in range(ntg):
        th = j % nth
        for q in range(start[j], start[j] + count[j]):
            v = bn[th, q]
            k = nxt[v]
            tg[k] = j
            tt[k] = bt[th, q]
            ll[k] = bl[th, q]
            nxt[v] += 1
    return ptr, tg, tt, ll


@njit(cache=True)
def _local_phase(indptr, indices, w, ln, node_rank, seed_nodes, seed_t, seed_l, cutoff,
                 dist, dlen, lab, pos, hn, ht, hl, touched, dummy,
                 tn_ptr, tn_tgt, tn_t, tn_l, row_t, row_l):
    """The local phase of one source: targets met inside its trees and chains go to the row;
    returns the seeds of the core search (ranks, times, lengths) and the touched count."""
    lab0 = np.zeros(len(seed_nodes), dtype=np.int64)
    nt = lex_search(indptr, indices, w, ln, seed_nodes, seed_t, seed_l, lab0, cutoff,
                    dist, dlen, lab, pos, hn, ht, hl, touched, node_rank, True, dummy, 0)
    nseed = 0
    for q in range(nt):
        x = touched[q]
        if node_rank[x] >= 0:
            nseed += 1
        else:
            dx = dist[x]
            lx = dlen[x]
            for k in range(tn_ptr[x], tn_ptr[x + 1]):
                j = tn_tgt[k]
                c = dx + tn_t[k]
                cl = lx + tn_l[k]
                if c < row_t[j] or (c == row_t[j] and cl < row_l[j]):
                    row_t[j] = c
                    row_l[j] = cl
    sn = np.empty(nseed, dtype=np.int64)
    st = np.empty(nseed)
    sl = np.empty(nseed)
    k = 0
    for q in range(nt):
        x = touched[q]
        if node_rank[x] >= 0:
            sn[k] = node_rank[x]
            st[k] = dist[x]
            sl[k] = dlen[x]
            k += 1
    return sn, st, sl, nt


@njit(cache=True)
def _finish_row(row_t, row_l, out_l, i, with_len, cutoff):
    for j in range(len(row_t)):
        if not row_t[j] <= cutoff:
            row_t[j] = np.inf
            row_l[j] = np.inf
        if with_len:
            out_l[i, j] = row_l[j]
        row_l[j] = np.inf


@njit(cache=True)
def _bucket_rows_chunk(th, nth, indptr, indices, w, ln, node_rank, up_ptr, up_idx, up_t, up_l,
                       dn_ptr, dn_idx, dn_t, dn_l, b_ptr, b_tgt, b_t, b_l, tn_ptr, tn_tgt, tn_t,
                       tn_l, src_ptr, src_nodes, src_t, src_l, cutoff, stall, out_t, out_l,
                       with_len):
    """Rows of the many-to-many by bucket scans: the sources ``th, th + nth, ...`` of ``nth``.

    ``out_t`` (n_sources, n_targets) must hold ``inf``; it gets seconds, and ``out_l`` metres
    when ``with_len``. Source ``i`` starts from ``src_nodes[src_ptr[i]:src_ptr[i+1]]`` at
    ``src_t`` seconds and ``src_l`` metres.
    """
    n = len(indptr) - 1
    nk = len(up_ptr) - 1
    ns_ = len(src_ptr) - 1
    ntg = out_t.shape[1]
    dist, dlen, lab, pos, hn, ht, hl, touched = _workspace(n, 0)
    dummy = np.zeros(1, dtype=np.uint8)
    cdist, cdlen, clab, cpos, chn, cht, chl, ctouched = _workspace(nk, 0)
    space = np.empty(nk, dtype=np.int64)
    row_l = np.full(ntg, np.inf)
    for i in range(th, ns_, nth):
        a = src_ptr[i]
        b = src_ptr[i + 1]
        if b == a:
            continue
        row_t = out_t[i]
        sn, st, sl, nt = _local_phase(indptr, indices, w, ln, node_rank, src_nodes[a:b],
                                      src_t[a:b], src_l[a:b], cutoff, dist, dlen, lab, pos,
                                      hn, ht, hl, touched, dummy, tn_ptr, tn_tgt, tn_t, tn_l,
                                      row_t, row_l)
        lab0 = np.zeros(len(sn), dtype=np.int64)
        cnt, csp = upward(up_ptr, up_idx, up_t, up_l, dn_ptr, dn_idx, dn_t, dn_l,
                          sn, st, sl, lab0, cutoff, stall,
                          cdist, cdlen, clab, cpos, chn, cht, chl, ctouched, space)
        for q in range(csp):
            v = space[q]
            dv = cdist[v]
            lv = cdlen[v]
            for e in range(b_ptr[v], b_ptr[v + 1]):
                # branch-free select: 1.5x faster than a test on 10,000 destinations
                j = b_tgt[e]
                c = dv + b_t[e]
                cl = lv + b_l[e]
                rt = row_t[j]
                rl = row_l[j]
                better = (c < rt) | ((c == rt) & (cl < rl))
                row_t[j] = c if better else rt
                row_l[j] = cl if better else rl
        _finish_row(row_t, row_l, out_l, i, with_len, cutoff)
        _reset(touched, nt, dist, dlen, pos)
        _reset(ctouched, cnt, cdist, cdlen, cpos)


@njit(cache=True, parallel=True)
def _bucket_rows_par(nth, indptr, indices, w, ln, node_rank, up_ptr, up_idx, up_t, up_l, dn_ptr,
                     dn_idx, dn_t, dn_l, b_ptr, b_tgt, b_t, b_l, tn_ptr, tn_tgt, tn_t, tn_l,
                     src_ptr, src_nodes, src_t, src_l, cutoff, stall, out_t, out_l, with_len):
    for th in prange(nth):
        _bucket_rows_chunk(th, nth, indptr, indices, w, ln, node_rank, up_ptr, up_idx, up_t, up_l,
                           dn_ptr, dn_idx, dn_t, dn_l, b_ptr, b_tgt, b_t, b_l, tn_ptr, tn_tgt,
                           tn_t, tn_l, src_ptr, src_nodes, src_t, src_l, cutoff, stall, out_t,
                           out_l, with_len)


@njit(cache=True)
def rphast_select(dn_ptr, dn_idx, dn_t, dn_l, seeds):
    """The nodes above the ``seeds`` (reached through downward arcs taken upwards), in
    decreasing rank, with their downward arcs among themselves in local ids.

    Returns ``sel`` (ranks), ``loc`` (local id of each rank, -1 outside) and the restricted
    CSR ``r_ptr, r_src, r_t, r_l``: node ``i`` of ``sel`` takes ``label(r_src) + r_t``.
    """
    nk = len(dn_ptr) - 1
    mark = np.zeros(nk, dtype=np.bool_)
    stack = np.empty(nk, dtype=np.int64)
    sp = 0
    for i in range(len(seeds)):
        s = seeds[i]
        if not mark[s]:
            mark[s] = True
            stack[sp] = s
            sp += 1
    while sp > 0:
        sp -= 1
        v = stack[sp]
        for k in range(dn_ptr[v], dn_ptr[v + 1]):
            x = dn_idx[k]
            if not mark[x]:
                mark[x] = True
                stack[sp] = x
                sp += 1
    cnt = 0
    for v in range(nk):
        if mark[v]:
            cnt += 1
    sel = np.empty(cnt, dtype=np.int64)
    loc = np.full(nk, -1, dtype=np.int64)
    i = 0
    m = 0
    for v in range(nk - 1, -1, -1):
        if mark[v]:
            sel[i] = v
            loc[v] = i
            i += 1
            m += dn_ptr[v + 1] - dn_ptr[v]
    r_ptr = np.zeros(cnt + 1, dtype=np.int64)
    r_src = np.empty(m, dtype=np.int64)
    r_t = np.empty(m)
    r_l = np.empty(m)
    q = 0
    for i in range(cnt):
        v = sel[i]
        for k in range(dn_ptr[v], dn_ptr[v + 1]):
            r_src[q] = loc[dn_idx[k]]
            r_t[q] = dn_t[k]
            r_l[q] = dn_l[k]
            q += 1
        r_ptr[i + 1] = q
    return sel, loc, r_ptr, r_src, r_t, r_l


@njit(cache=True)
def _rphast_rows_chunk(th, nth, indptr, indices, w, ln, node_rank, up_ptr, up_idx, up_t, up_l,
                       dn_ptr, dn_idx, dn_t, dn_l, sel, loc, r_ptr, r_src, r_t, r_l, ts_ptr,
                       ts_loc, ts_t, ts_l, tn_ptr, tn_tgt, tn_t, tn_l, src_ptr, src_nodes, src_t,
                       src_l, cutoff, out_t, out_l, with_len):
    """Rows of the many-to-many by restricted PHAST sweeps: the sources ``th, th + nth, ...`` of ``nth``.

    Like :func:`_bucket_rows_chunk`; the targets' seeds are in local ids of :func:`rphast_select`.
    """
    n = len(indptr) - 1
    nk = len(up_ptr) - 1
    ns_ = len(src_ptr) - 1
    ntg = out_t.shape[1]
    nsel = len(sel)
    dist, dlen, lab, pos, hn, ht, hl, touched = _workspace(n, 0)
    dummy = np.zeros(1, dtype=np.uint8)
    cdist, cdlen, clab, cpos, chn, cht, chl, ctouched = _workspace(nk, 0)
    space = np.empty(nk, dtype=np.int64)
    row_l = np.full(ntg, np.inf)
    ds = np.empty(nsel)
    dl = np.empty(nsel)
    for i in range(th, ns_, nth):
        a = src_ptr[i]
        b = src_ptr[i + 1]
        if b == a:
            continue
        row_t = out_t[i]
        sn, st, sl, nt = _local_phase(indptr, indices, w, ln, node_rank, src_nodes[a:b],
                                      src_t[a:b], src_l[a:b], cutoff, dist, dlen, lab, pos,
                                      hn, ht, hl, touched, dummy, tn_ptr, tn_tgt, tn_t, tn_l,
                                      row_t, row_l)
        lab0 = np.zeros(len(sn), dtype=np.int64)
        cnt, csp = upward(up_ptr, up_idx, up_t, up_l, dn_ptr, dn_idx, dn_t, dn_l,
                          sn, st, sl, lab0, cutoff, False,
                          cdist, cdlen, clab, cpos, chn, cht, chl, ctouched, space)
        ds[:] = np.inf
        dl[:] = np.inf
        for q in range(cnt):
            v = ctouched[q]
            li = loc[v]
            if li >= 0:
                ds[li] = cdist[v]
                dl[li] = cdlen[v]
        for li in range(nsel):
            bt = ds[li]
            bl = dl[li]
            for k in range(r_ptr[li], r_ptr[li + 1]):
                x = r_src[k]
                c = ds[x] + r_t[k]
                cl = dl[x] + r_l[k]
                better = (c < bt) | ((c == bt) & (cl < bl))  # branch-free: 1.9x on 10,000
                bt = c if better else bt
                bl = cl if better else bl
            ds[li] = bt
            dl[li] = bl
        for j in range(ntg):
            bt = row_t[j]
            bl = row_l[j]
            for k in range(ts_ptr[j], ts_ptr[j + 1]):
                li = ts_loc[k]
                c = ds[li] + ts_t[k]
                cl = dl[li] + ts_l[k]
                better = (c < bt) | ((c == bt) & (cl < bl))
                bt = c if better else bt
                bl = cl if better else bl
            row_t[j] = bt
            row_l[j] = bl
        _finish_row(row_t, row_l, out_l, i, with_len, cutoff)
        _reset(touched, nt, dist, dlen, pos)
        _reset(ctouched, cnt, cdist, cdlen, cpos)


@njit(cache=True, parallel=True)
def _rphast_rows_par(nth, indptr, indices, w, ln, node_rank, up_ptr, up_idx, up_t, up_l, dn_ptr,
                     dn_idx, dn_t, dn_l, sel, loc, r_ptr, r_src, r_t, r_l, ts_ptr, ts_loc, ts_t,
                     ts_l, tn_ptr, tn_tgt, tn_t, tn_l, src_ptr, src_nodes, src_t, src_l, cutoff,
                     out_t, out_l, with_len):
    for th in prange(nth):
        _rphast_rows_chunk(th, nth, indptr, indices, w, ln, node_rank, up_ptr, up_idx, up_t, up_l,
                           dn_ptr, dn_idx, dn_t, dn_l, sel, loc, r_ptr, r_src, r_t, r_l, ts_ptr,
                           ts_loc, ts_t, ts_l, tn_ptr, tn_tgt, tn_t, tn_l, src_ptr, src_nodes,
                           src_t, src_l, cutoff, out_t, out_l, with_len)


@njit(cache=True)
def phast_multi_source(indptr, indices, w, ln, node_rank, a1, o1t, o1l, a2, o2t, o2l,
                       up_ptr, up_idx, up_t, up_l, dn_ptr, dn_idx, dn_t, dn_l,
                       seed_nodes, seed_t, seed_l, seed_lab, cutoff):
    """Every node's time (and metres) from its nearest seed, and that seed's label: the local
    phase, an upward search, a downward sweep over all ranks, then the trees and chains.

    Returns ``dist`` (seconds, ``inf`` unreachable or beyond ``cutoff``), ``dlen`` (metres),
    ``label`` (-1 when unreachable).
    """
    n = len(indptr) - 1
    nk = len(up_ptr) - 1
    dist, dlen, label, pos, hn, ht, hl, touched = _workspace(n, -1)
    dummy = np.zeros(1, dtype=np.uint8)
    nt = lex_search(indptr, indices, w, ln, seed_nodes, seed_t, seed_l, seed_lab, cutoff,
                    dist, dlen, label, pos, hn, ht, hl, touched, node_rank, True, dummy, 0)
    nseed = 0
    for q in range(nt):
        if node_rank[touched[q]] >= 0:
            nseed += 1
    sn = np.empty(nseed, dtype=np.int64)
    st = np.empty(nseed)
    sl = np.empty(nseed)
    sb = np.empty(nseed, dtype=np.int64)
    k = 0
    for q in range(nt):
        x = touched[q]
        if node_rank[x] >= 0:
            sn[k] = node_rank[x]
            st[k] = dist[x]
            sl[k] = dlen[x]
            sb[k] = label[x]
            k += 1
    cd = np.full(nk, np.inf)
    cl = np.full(nk, np.inf)
    cb = np.full(nk, -1, dtype=np.int64)
    cpos = np.full(nk, _NEVER, dtype=np.int64)
    space = np.empty(nk, dtype=np.int64)
    upward(up_ptr, up_idx, up_t, up_l, dn_ptr, dn_idx, dn_t, dn_l, sn, st, sl, sb, cutoff, False,
           cd, cl, cb, cpos, hn, ht, hl, touched, space)
    for v in range(nk - 1, -1, -1):
        bt = cd[v]
        bl = cl[v]
        bb = cb[v]
        for e in range(dn_ptr[v], dn_ptr[v + 1]):
            x = dn_idx[e]
            c = cd[x] + dn_t[e]
            c2 = cl[x] + dn_l[e]
            better = (c < bt) | ((c == bt) & (c2 < bl))  # branch-free select
            bt = c if better else bt
            bl = c2 if better else bl
            bb = cb[x] if better else bb
        cd[v] = bt
        cl[v] = bl
        cb[v] = bb
    for x in range(n):
        bt = dist[x]
        bl = dlen[x]
        bb = label[x]
        r = a1[x]
        if r >= 0:
            c = cd[r] + o1t[x]
            c2 = cl[r] + o1l[x]
            if c < bt or (c == bt and c2 < bl):
                bt = c
                bl = c2
                bb = cb[r]
        r = a2[x]
        if r >= 0:
            c = cd[r] + o2t[x]
            c2 = cl[r] + o2l[x]
            if c < bt or (c == bt and c2 < bl):
                bt = c
                bl = c2
                bb = cb[r]
        if bt <= cutoff:
            dist[x] = bt
            dlen[x] = bl
            label[x] = bb
        else:
            dist[x] = np.inf
            dlen[x] = np.inf
            label[x] = -1
    return dist, dlen, label


@njit(cache=True)
def _dijkstra_rows_chunk(th, nth, indptr, indices, w, ln, core_of, a1, o1t, o1l, a2, o2t, o2l,
                         c_ptr, c_idx, c_t, c_l, tn_ptr, tn_tgt, tn_t, tn_l, ts_ptr, ts_node, ts_t,
                         ts_l, src_ptr, src_nodes, src_t, src_l, cutoff, out_t, out_l, with_len):
    """Rows of the many-to-many by one lexicographic Dijkstra per source on the core: the
    sources ``th, th + nth, ...`` of ``nth``.

    No hierarchy: stopping once the targets' anchors are settled; same conventions as
    :func:`_bucket_rows_chunk`, with core ids (``core_of``) in place of ranks.
    """
    n = len(indptr) - 1
    nk = len(c_ptr) - 1
    ns_ = len(src_ptr) - 1
    ntg = out_t.shape[1]
    tmark = np.zeros(nk, dtype=np.uint8)
    n_marked = 0
    for q in range(len(ts_node)):
        if tmark[ts_node[q]] == 0:
            tmark[ts_node[q]] = 1
            n_marked += 1
    dist, dlen, lab, pos, hn, ht, hl, touched = _workspace(n, 0)
    dummy = np.zeros(1, dtype=np.uint8)
    cdist = np.full(nk, np.inf)
    cdlen = np.full(nk, np.inf)
    clab = np.zeros(nk, dtype=np.int64)
    cpos = np.full(nk, _NEVER, dtype=np.int64)
    ctouched = np.empty(nk, dtype=np.int64)
    row_l = np.full(ntg, np.inf)
    for i in range(th, ns_, nth):
        a = src_ptr[i]
        b = src_ptr[i + 1]
        if b == a:
            continue
        row_t = out_t[i]
        sn, st, sl, nt = _local_phase(indptr, indices, w, ln, core_of, src_nodes[a:b],
                                      src_t[a:b], src_l[a:b], cutoff, dist, dlen, lab, pos,
                                      hn, ht, hl, touched, dummy, tn_ptr, tn_tgt, tn_t, tn_l,
                                      row_t, row_l)
        lab0 = np.zeros(len(sn), dtype=np.int64)
        cnt = lex_search(c_ptr, c_idx, c_t, c_l, sn, st, sl, lab0, cutoff, cdist, cdlen, clab,
                         cpos, hn, ht, hl, ctouched, dummy, False, tmark, n_marked)
        for j in range(ntg):
            bt = row_t[j]
            bl = row_l[j]
            for k in range(ts_ptr[j], ts_ptr[j + 1]):
                li = ts_node[k]
                c = cdist[li] + ts_t[k]
                if c <= bt:
                    cl = cdlen[li] + ts_l[k]
                    if c < bt or cl < bl:
                        bt = c
                        bl = cl
            row_t[j] = bt
            row_l[j] = bl
        _finish_row(row_t, row_l, out_l, i, with_len, cutoff)
        _reset(touched, nt, dist, dlen, pos)
        _reset(ctouched, cnt, cdist, cdlen, cpos)


@njit(cache=True, parallel=True)
def _dijkstra_rows_par(nth, indptr, indices, w, ln, core_of, a1, o1t, o1l, a2, o2t, o2l, c_ptr,
                       c_idx, c_t, c_l, tn_ptr, tn_tgt, tn_t, tn_l, ts_ptr, ts_node, ts_t, ts_l,
                       src_ptr, src_nodes, src_t, src_l, cutoff, out_t, out_l, with_len):
    for th in prange(nth):
        _dijkstra_rows_chunk(th, nth, indptr, indices, w, ln, core_of, a1, o1t, o1l, a2, o2t, o2l,
                             c_ptr, c_idx, c_t, c_l, tn_ptr, tn_tgt, tn_t, tn_l, ts_ptr, ts_node,
                             ts_t, ts_l, src_ptr, src_nodes, src_t, src_l, cutoff, out_t, out_l,
                             with_len)


_ROWS: dict[str, tuple[Any, Any]] = {
    "ch": (_bucket_rows_chunk, _bucket_rows_par),
    "phast": (_rphast_rows_chunk, _rphast_rows_par),
    "dijkstra": (_dijkstra_rows_chunk, _dijkstra_rows_par),
}


def run_rows(kind, n_sources, n_threads, *args):
    """Run the rows kernel of a strategy (``"ch"``, ``"phast"``, ``"dijkstra"``) over
    ``min(n_threads, n_sources)`` threads; one thread runs without a parallel region.

    ``args`` are those of ``_<kernel>_chunk`` after ``th, nth``.
    """
    chunk, par = _ROWS[kind]
    nth = max(1, min(int(n_threads), int(n_sources)))
    if nth == 1:
        chunk(0, 1, *args)
    else:
        par(nth, *args)
