"""numba kernels of the graph build: degree-2 detection, chain walking, Hilbert keys.

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
