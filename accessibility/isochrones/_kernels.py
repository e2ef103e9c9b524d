"""numba kernels of the travel-time surfaces: arrays in, arrays out, no Python objects.

A *vertex* is a road vertex of the graph's snapping index: node ``v`` when ``v < n_nodes``,
else shape point ``v - n_nodes``. Vertex times are ``(n_vertices, m)`` arrays, one column per
group of sites (one column for a plain surface, one per equipment for a gamme).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def vertex_times(node_t, chain_head, chain_time_s, shape_chain, shape_off_s, out):
    """Time from every road vertex to the nearest site, per group, through the graph nodes.

    Nodes take ``node_t`` (the reverse multi-source search). A shape point on chain ``c``
    (tail -> head) drives on to the chain's head: ``chain_time_s[c] - offset + node_t[head]``,
    the best over its chain(s) (a two-way stretch has one chain per direction; a one-way
    stretch only the one it can be driven on).

    Parameters
    ----------
    node_t : float64 (n_nodes, m)
    chain_head : int (n_chains,)
    chain_time_s : float64 (n_chains,)
    shape_chain : int (n_shapes, 2)
    shape_off_s : float64 (n_shapes, 2)
    out : float64 (n_nodes + n_shapes, m), written
    """
    nn, m = node_t.shape
    ns = shape_chain.shape[0]
    for v in prange(nn + ns):
        if v < nn:
            for k in range(m):
                out[v, k] = node_t[v, k]
        else:
            s = v - nn
            for k in range(m):
                out[v, k] = np.inf
            for j in range(2):
                c = shape_chain[s, j]
                if c < 0:
                    continue
                base = chain_time_s[c] - shape_off_s[s, j]
                if base < 0.0:
                    base = 0.0
                h = chain_head[c]
                for k in range(m):
                    t = base + node_t[h, k]
                    if t < out[v, k]:
                        out[v, k] = t


@njit(cache=True)
def direct_on_chains(n_nodes, ch_ptr, ch_shape, ch_slot, shape_off_s, site_chain, site_off_s, site_access_s,
                     site_groups, out):
    """Trips from a shape point to a site on the same stretch, passing no node.

    A site on chain ``c`` at offset ``o`` is reached from every shape point of ``c`` at an
    offset ``<= o`` (upstream) after ``o - offset`` seconds plus the site's access leg. The
    graph search cannot see these trips (it starts at the chain's tail).

    Parameters
    ----------
    ch_ptr, ch_shape, ch_slot : int arrays
        Shape points of chain ``c``: ``ch_shape[ch_ptr[c]:ch_ptr[c+1]]``, with the slot of
        ``shape_off_s`` that belongs to ``c``.
    site_chain, site_off_s : (n_sites, 2)
        The chains the sites lie on (-1) and their offsets.
    site_access_s : (n_sites,)
    site_groups : bool (n_sites, m)
    out : float64 (n_vertices, m), lowered in place
    """
    n_sites, m = site_groups.shape
    for p in range(n_sites):
        for j in range(2):
            c = site_chain[p, j]
            if c < 0:
                continue
            o = site_off_s[p, j]
            a = site_access_s[p]
            for q in range(ch_ptr[c], ch_ptr[c + 1]):
                s = ch_shape[q]
                off = shape_off_s[s, ch_slot[q]]
                if off <= o:
                    t = o - off + a
                    v = n_nodes + s
                    for k in range(m):
                        if site_groups[p, k] and t < out[v, k]:
                            out[v, k] = t


@njit(cache=True, inline="always")
def _span(q, radius, origin, cell, size):
    lo = np.int64(np.floor((q - radius - origin) / cell))
    hi = np.int64(np.floor((q + radius - origin) / cell))
    if lo < 0:
        lo = 0
    if hi > size - 1:
        hi = size - 1
    return lo, hi


#: Query points handled together by one thread of :func:`cell_times` (one scratch row each).
_BLOCK = 256


@njit(cache=True, parallel=True)
def cell_minima(cell_ptr, ct):
    """Per grid cell of the index and group, the smallest vertex time (``inf`` for an empty
    cell): a lower bound that lets :func:`cell_times` skip whole cells."""
    n_cells = len(cell_ptr) - 1
    m = ct.shape[1]
    out = np.full((n_cells, m), np.inf)
    for c in prange(n_cells):
        for j in range(cell_ptr[c], cell_ptr[c + 1]):
            for k in range(m):
                if ct[j, k] < out[c, k]:
                    out[c, k] = ct[j, k]
    return out


@njit(cache=True, inline="always")
def _scan(j0, j1, px, py, r2, inv_speed, cx, cy, ct, best):
    m = ct.shape[1]
    for j in range(j0, j1):
        dx = cx[j] - px
        dy = cy[j] - py
        d2 = dx * dx + dy * dy
        if d2 <= r2:
            leg = np.sqrt(d2) * inv_speed
            for k in range(m):
                t = ct[j, k] + leg
                if t < best[k]:
                    best[k] = t


@njit(cache=True, parallel=True)
def cell_times(qx, qy, radius, inv_speed, x0, y0, cell, ncol, nrow, cell_ptr, cx, cy, ct, cmin,
               sx0, sy0, scell, sncol, snrow, s_ptr, s_idx, spx, spy, s_groups, out):
    """For each query point, per group, the best over road vertices within ``radius`` of
    ``time + distance * inv_speed`` and over the group's sites within ``radius`` of
    ``distance * inv_speed`` (straight to the site); the sum over groups is added to ``out``.

    Coordinates are metres in the snapping index's projection. The vertex grid is the index's
    (``x0, y0, cell, ncol, nrow, cell_ptr``) with the vertices' coordinates ``cx, cy`` and times
    ``ct`` (groups as columns) already in the index's cell order, so each cell's vertices are
    read contiguously; ``cmin`` (:func:`cell_minima`) bounds each cell's times from below, so a
    cell that cannot improve any group (its smallest time plus the distance to its box) is
    skipped — exact, the point's own cell being read first. The site grid is a small one of the
    same form (``s_idx`` points into ``spx, spy, s_groups``). ``inf`` when a group has nothing
    within reach (and the sum is then ``inf``).
    """
    n = len(qx)
    m = ct.shape[1]
    r2 = radius * radius
    n_sites = len(spx)
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in prange(n_blocks):
        best = np.empty(m)
        for i in range(b * _BLOCK, min((b + 1) * _BLOCK, n)):
            for k in range(m):
                best[k] = np.inf
            px = qx[i]
            py = qy[i]
            # straight to a site first (the smallest legs: good bounds for the pruning)
            if n_sites > 0:
                c0, c1 = _span(px, radius, sx0, scell, sncol)
                r0, r1 = _span(py, radius, sy0, scell, snrow)
                if c0 > c1:
                    r1 = r0 - 1
                for row in range(r0, r1 + 1):
                    for j in range(s_ptr[row * sncol + c0], s_ptr[row * sncol + c1 + 1]):
                        p = s_idx[j]
                        dx = spx[p] - px
                        dy = spy[p] - py
                        d2 = dx * dx + dy * dy
                        if d2 <= r2:
                            leg = np.sqrt(d2) * inv_speed
                            for k in range(m):
                                if s_groups[p, k] and leg < best[k]:
                                    best[k] = leg
            c0, c1 = _span(px, radius, x0, cell, ncol)
            r0, r1 = _span(py, radius, y0, cell, nrow)
            if c0 > c1:
                r1 = r0 - 1  # left or right of the index: nothing to scan
            hcol = np.int64(np.floor((px - x0) / cell))
            hrow = np.int64(np.floor((py - y0) / cell))
            home = -1
            if 0 <= hcol < ncol and 0 <= hrow < nrow:
                home = hrow * ncol + hcol
                _scan(cell_ptr[home], cell_ptr[home + 1], px, py, r2, inv_speed, cx, cy, ct, best)
            for row in range(r0, r1 + 1):
                by0 = y0 + row * cell
                dy = max(by0 - py, 0.0, py - by0 - cell)
                for col in range(c0, c1 + 1):
                    c = row * ncol + col
                    if c == home or cell_ptr[c] == cell_ptr[c + 1]:
                        continue
                    bx0 = x0 + col * cell
                    dx = max(bx0 - px, 0.0, px - bx0 - cell)
                    lb2 = dx * dx + dy * dy
                    if lb2 > r2:
                        continue
                    lb = np.sqrt(lb2) * inv_speed
                    useful = False
                    for k in range(m):
                        if cmin[c, k] + lb < best[k]:
                            useful = True
                            break
                    if useful:
                        _scan(cell_ptr[c], cell_ptr[c + 1], px, py, r2, inv_speed, cx, cy, ct, best)
            acc = 0.0
            for k in range(m):
                acc += best[k]
            out[i] += acc


@njit(cache=True, parallel=True)
def any_within(qx, qy, radius, x0, y0, cell, ncol, nrow, cell_ptr, cx, cy, out):
    """``out[i]``: some road vertex lies within ``radius`` of point ``i`` (the grid as in
    :func:`cell_times`; stops at the first one)."""
    r2 = radius * radius
    for i in prange(len(qx)):
        px = qx[i]
        py = qy[i]
        c0, c1 = _span(px, radius, x0, cell, ncol)
        r0, r1 = _span(py, radius, y0, cell, nrow)
        found = False
        if c0 <= c1:
            for row in range(r0, r1 + 1):
                for j in range(cell_ptr[row * ncol + c0], cell_ptr[row * ncol + c1 + 1]):
                    dx = cx[j] - px
                    dy = cy[j] - py
                    if dx * dx + dy * dy <= r2:
                        found = True
                        break
                if found:
                    break
        out[i] = found
