"""numba kernels of the graph build (degree-2 detection, chain walking, Hilbert keys) and of its
reduced core (:func:`reduce_core`: dead-end trees and chains of the 2-core, see
:mod:`accessibility.network.core`).

Arrays in, arrays out; no Python objects.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def contractible_nodes(indptr, indices, rindptr, rindices):
    """Nodes that sit inside a chain and can be removed without changing any time.

    A node is contractible when it is a two-way middle node (exactly two distinct neighbours
    ``a != b``, edges ``a<->v<->b`` in both directions) or a one-way middle node (one edge in
    from ``a``, one edge out to ``b``, ``a != b``). Parallel edges and self-loops must have been
    removed before.
    """
    n = len(indptr) - 1
    out = np.zeros(n, dtype=np.bool_)
    for v in range(n):
        no = indptr[v + 1] - indptr[v]
        ni = rindptr[v + 1] - rindptr[v]
        if no == 1 and ni == 1:
            if indices[indptr[v]] != rindices[rindptr[v]]:
                out[v] = True
        elif no == 2 and ni == 2:
            a = indices[indptr[v]]
            b = indices[indptr[v] + 1]
            c = rindices[rindptr[v]]
            d = rindices[rindptr[v] + 1]
            if a != b and ((a == c and b == d) or (a == d and b == c)):
                out[v] = True
    return out


@njit(cache=True)
def walk_chains(indptr, indices, time_s, length_m, contractible):
    """Replace every chain of contractible nodes by one edge between kept nodes.

    Returns
    -------
    chain_tail, chain_head : int64 arrays
        Kept endpoints of each chain (old node ids). A direct edge between kept nodes is a
        chain without interior.
    chain_time, chain_length : float64 arrays
        Summed time (s) and length (m) of each chain.
    slot_chain : int64 array (n, 2)
        For a contractible node, the chains it lies on (one for a one-way chain, two for a
        two-way chain, one per direction); -1 elsewhere.
    slot_off_s, slot_off_m : float64 arrays (n, 2)
        Time (s) and length (m) from the chain's tail to the node.
    visited_ok : bool
        False when some contractible node was never reached (a ring of contractible nodes);
        the caller then keeps those nodes and walks again.
    """
    n = len(indptr) - 1
    m = len(indices)
    chain_tail = np.empty(m, dtype=np.int64)
    chain_head = np.empty(m, dtype=np.int64)
    chain_time = np.empty(m, dtype=np.float64)
    chain_length = np.empty(m, dtype=np.float64)
    slot_chain = np.full((n, 2), -1, dtype=np.int64)
    slot_off_s = np.zeros((n, 2), dtype=np.float64)
    slot_off_m = np.zeros((n, 2), dtype=np.float64)
    nch = 0
    for k in range(n):
        if contractible[k]:
            continue
        for e in range(indptr[k], indptr[k + 1]):
            prev = k
            cur = indices[e]
            t = time_s[e]
            ln = length_m[e]
            steps = 0
            while contractible[cur] and steps <= n:
                s = 0 if slot_chain[cur, 0] == -1 else 1
                slot_chain[cur, s] = nch
                slot_off_s[cur, s] = t
                slot_off_m[cur, s] = ln
                nxt = -1
                enext = -1
                for e2 in range(indptr[cur], indptr[cur + 1]):
                    if indices[e2] != prev or indptr[cur + 1] - indptr[cur] == 1:
                        nxt = indices[e2]
                        enext = e2
                        break
                t += time_s[enext]
                ln += length_m[enext]
                prev = cur
                cur = nxt
                steps += 1
            chain_tail[nch] = k
            chain_head[nch] = cur
            chain_time[nch] = t
            chain_length[nch] = ln
            nch += 1
    visited_ok = True
    for v in range(n):
        if contractible[v] and slot_chain[v, 0] == -1:
            visited_ok = False
            break
    return (
        chain_tail[:nch],
        chain_head[:nch],
        chain_time[:nch],
        chain_length[:nch],
        slot_chain,
        slot_off_s,
        slot_off_m,
        visited_ok,
    )


@njit(cache=True)
def hilbert_keys(ix, iy, order):
    """Hilbert curve index of integer grid coordinates in ``[0, 2**order)``."""
    n = len(ix)
    out = np.empty(n, dtype=np.int64)
    side = np.int64(1) << order
    for i in range(n):
        x = np.int64(ix[i])
        y = np.int64(iy[i])
        d = np.int64(0)
        s = side >> 1
        while s > 0:
            rx = 1 if (x & s) > 0 else 0
            ry = 1 if (y & s) > 0 else 0
            d += s * s * ((3 * rx) ^ ry)
            if ry == 0:
                if rx == 1:
                    x = side - 1 - x
                    y = side - 1 - y
                x, y = y, x
            s >>= 1
        out[i] = d
    return out


_I32 = np.int32


# ---------------------------------------------------------------------------------------------
# reduced core: dead-end trees and chains of the 2-core (accessibility.network.core)


@njit(cache=True)
def _edge_time_length(indptr, indices, w, ln, p, q):
    """Time and length of the fastest edge ``p -> q`` (the shortest of equally fast ones),
    ``(inf, inf)`` when there is none."""
    best = np.inf
    best_l = np.inf
    for e in range(indptr[p], indptr[p + 1]):
        if indices[e] == q and (w[e] < best or (w[e] == best and ln[e] < best_l)):
            best = w[e]
            best_l = ln[e]
    return best, best_l


@njit(cache=True)
def _undirected(indptr, indices):
    """Undirected simple adjacency (CSR) of a directed CSR, self-loops dropped."""
    n = len(indptr) - 1
    m = len(indices)
    rptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        rptr[indices[e] + 1] += 1
    for v in range(n):
        rptr[v + 1] += rptr[v]
    rsrc = np.empty(m, dtype=_I32)
    nxt = rptr[:-1].copy()
    for u in range(n):
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            rsrc[nxt[v]] = u
            nxt[v] += 1
    mark = np.full(n, -1, dtype=np.int64)
    uptr = np.zeros(n + 1, dtype=np.int64)
    unb = np.empty(2 * m, dtype=_I32)
    k = 0
    for x in range(n):
        for e in range(indptr[x], indptr[x + 1]):
            y = indices[e]
            if y != x and mark[y] != x:
                mark[y] = x
                unb[k] = y
                k += 1
        for e in range(rptr[x], rptr[x + 1]):
            y = rsrc[e]
            if y != x and mark[y] != x:
                mark[y] = x
                unb[k] = y
                k += 1
        uptr[x + 1] = k
    return uptr, unb[:k]


@njit(cache=True)
def reduce_core(indptr, indices, w, ln):
    """Peel dead-end trees, contract the chains of the 2-core; see :mod:`accessibility.network.core`.

    ``ln`` is a second edge weight carried along (metres): every time below comes with the
    length of the same path, and of parallel edges (or chains) the fastest is kept, the
    shortest of equally fast ones.

    Returns
    -------
    core_of : int32 (n,)
        Core id of each node, -1 for eliminated nodes.
    anchor1, anchor2 : int32 (n,)
        Core ids of a node's anchors (-1: none); a core node is its own ``anchor1``.
    offset1, offset2 : float64 (n,)
        Time (s) from each anchor to the node.
    c_indptr, c_indices, c_time : the core graph in CSR form (core ids).
    offset1_m, offset2_m : float64 (n,)
        Length (``ln`` units) of the paths of ``offset1``, ``offset2``.
    c_length : float64
        Length of each core edge (of the path its time is the time of).
    """
    n = len(indptr) - 1
    m = len(indices)
    uptr, unb = _undirected(indptr, indices)
    deg = np.empty(n, dtype=np.int64)
    for x in range(n):
        deg[x] = uptr[x + 1] - uptr[x]
    # peel nodes of degree 1; the last node of a tree component keeps degree 0 and stays
    alive = np.ones(n, dtype=np.bool_)
    parent = np.full(n, -1, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    ns = 0
    for x in range(n):
        if deg[x] == 1:
            stack[ns] = x
            ns += 1
    no = 0
    while ns > 0:
        ns -= 1
        x = stack[ns]
        if not alive[x] or deg[x] != 1:
            continue
        p = -1
        for k in range(uptr[x], uptr[x + 1]):
            if alive[unb[k]]:
                p = unb[k]
                break
        alive[x] = False
        parent[x] = p
        order[no] = x
        no += 1
        deg[p] -= 1
        if deg[p] == 1:
            stack[ns] = p
            ns += 1
    # core nodes: 2-core nodes of 2-core degree != 2, plus one node per ring of degree-2 nodes
    kept = np.zeros(n, dtype=np.bool_)
    for x in range(n):
        if alive[x] and deg[x] != 2:
            kept[x] = True
    visited = np.zeros(n, dtype=np.bool_)
    anc1 = np.full(n, -1, dtype=np.int64)
    anc2 = np.full(n, -1, dtype=np.int64)
    off1 = np.zeros(n)
    off2 = np.zeros(n)
    off1m = np.zeros(n)
    off2m = np.zeros(n)
    eu = np.empty(m, dtype=np.int64)
    ev = np.empty(m, dtype=np.int64)
    ew = np.empty(m)
    el = np.empty(m)
    ne = 0
    chain = np.empty(n, dtype=np.int64)
    fwd = np.empty(n)
    bwd = np.empty(n)
    fwdm = np.empty(n)
    bwdm = np.empty(n)
    for phase in range(2):
        for a in range(n):
            if phase == 1 and alive[a] and not kept[a] and not visited[a]:
                kept[a] = True
            if not kept[a]:
                continue
            for k0 in range(uptr[a], uptr[a + 1]):
                y = unb[k0]
                if not alive[y] or kept[y] or visited[y]:
                    continue
                # walk the chain a - y - ... - b
                prev = a
                cur = y
                nc = 0
                f, fl = _edge_time_length(indptr, indices, w, ln, a, y)
                while True:
                    visited[cur] = True
                    chain[nc] = cur
                    fwd[nc] = f
                    fwdm[nc] = fl
                    nc += 1
                    nxt = -1
                    for k in range(uptr[cur], uptr[cur + 1]):
                        z = unb[k]
                        if alive[z] and z != prev:
                            nxt = z
                            break
                    et, etl = _edge_time_length(indptr, indices, w, ln, cur, nxt)
                    f = f + et
                    fl = fl + etl
                    prev = cur
                    cur = nxt
                    if kept[cur]:
                        break
                b = cur
                g, gl = _edge_time_length(indptr, indices, w, ln, b, chain[nc - 1])
                for i in range(nc - 1, -1, -1):
                    bwd[i] = g
                    bwdm[i] = gl
                    if i > 0:
                        et, etl = _edge_time_length(indptr, indices, w, ln, chain[i], chain[i - 1])
                        g = g + et
                        gl = gl + etl
                et, etl = _edge_time_length(indptr, indices, w, ln, chain[0], a)
                g = g + et
                gl = gl + etl
                for i in range(nc):
                    x = chain[i]
                    if fwd[i] < np.inf:
                        anc1[x] = a
                        off1[x] = fwd[i]
                        off1m[x] = fwdm[i]
                        if bwd[i] < np.inf:
                            anc2[x] = b
                            off2[x] = bwd[i]
                            off2m[x] = bwdm[i]
                    elif bwd[i] < np.inf:
                        anc1[x] = b
                        off1[x] = bwd[i]
                        off1m[x] = bwdm[i]
                if a != b and f < np.inf:
                    eu[ne] = a
                    ev[ne] = b
                    ew[ne] = f
                    el[ne] = fl
                    ne += 1
                if a != b and g < np.inf:
                    eu[ne] = b
                    ev[ne] = a
                    ew[ne] = g
                    el[ne] = gl
                    ne += 1
    for u in range(n):
        if kept[u]:
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                if kept[v] and v != u:
                    eu[ne] = u
                    ev[ne] = v
                    ew[ne] = w[e]
                    el[ne] = ln[e]
                    ne += 1
    # dead-end trees, top-down: a node's anchors are its parent's, plus the edge down
    for i in range(no - 1, -1, -1):
        x = order[i]
        p = parent[x]
        wp, wpl = _edge_time_length(indptr, indices, w, ln, p, x)
        if wp == np.inf:
            continue
        if kept[p]:
            anc1[x] = p
            off1[x] = wp
            off1m[x] = wpl
        else:
            if anc1[p] >= 0:
                anc1[x] = anc1[p]
                off1[x] = off1[p] + wp
                off1m[x] = off1m[p] + wpl
            if anc2[p] >= 0:
                anc2[x] = anc2[p]
                off2[x] = off2[p] + wp
                off2m[x] = off2m[p] + wpl
    # core ids in node order (keeps the graph's Hilbert order)
    core_of = np.full(n, -1, dtype=_I32)
    nk = 0
    for x in range(n):
        if kept[x]:
            core_of[x] = nk
            nk += 1
    a1 = np.full(n, -1, dtype=_I32)
    a2 = np.full(n, -1, dtype=_I32)
    for x in range(n):
        if kept[x]:
            a1[x] = core_of[x]
            off1[x] = 0.0
            off1m[x] = 0.0
        else:
            if anc1[x] >= 0:
                a1[x] = core_of[anc1[x]]
            if anc2[x] >= 0:
                a2[x] = core_of[anc2[x]]
    # core CSR, the fastest of parallel edges (the shortest of equally fast ones)
    key = np.empty(ne, dtype=np.int64)
    for i in range(ne):
        key[i] = np.int64(core_of[eu[i]]) * nk + core_of[ev[i]]
    srt = np.argsort(key, kind="mergesort")
    c_ptr = np.zeros(nk + 1, dtype=_I32)
    c_idx = np.empty(ne, dtype=_I32)
    c_w = np.empty(ne)
    c_l = np.empty(ne)
    k = -1
    last = np.int64(-1)
    for i in range(ne):
        j = srt[i]
        if key[j] != last:
            k += 1
            last = key[j]
            c_idx[k] = core_of[ev[j]]
            c_w[k] = ew[j]
            c_l[k] = el[j]
            c_ptr[core_of[eu[j]] + 1] += 1
        elif ew[j] < c_w[k] or (ew[j] == c_w[k] and el[j] < c_l[k]):
            c_w[k] = ew[j]
            c_l[k] = el[j]
    for i in range(nk):
        c_ptr[i + 1] += c_ptr[i]
    return (core_of, a1, off1, a2, off2, c_ptr, c_idx[: k + 1].copy(), c_w[: k + 1].copy(),
            off1m, off2m, c_l[: k + 1].copy())
