"""Where should the next sites go: maximal covering, p-median and set covering (numpy core).

Every function takes a **cost matrix** (demand × candidate, minutes, ``inf`` when unreachable),
the demand's weights (inhabitants), the time of each demand point to the nearest *existing*
site (``base``, kept: new sites come on top), and returns a :class:`Solution`. Two methods:

- ``greedy``: add, one at a time, the candidate with the largest marginal gain (ties: the lowest
  candidate index). Fast, within ``1 - 1/e`` of the optimum for coverage, usually much closer;
- ``exact``: the integer program solved by HiGHS through :func:`scipy.optimize.milp` (no extra
  dependency), with a time limit; ``Solution.optimal`` says whether optimality was proven.

Problems (the spopt names in brackets):

- ``coverage`` [MCLP]: choose ``k`` candidates to bring the most inhabitants within ``threshold``;
- ``mean-time`` [p-median]: choose ``k`` candidates to minimise the population-weighted time to
  the nearest site (existing or new);
- ``cover-all`` [LSCP]: the fewest candidates so that every demand point is within
  ``threshold``, or the proof that none can (the demand points no candidate reaches in time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from accessibility.errors import InvalidParameterError, NoServiceError

__all__ = ["Solution", "InfeasibleCover", "max_coverage", "p_median", "set_cover", "OBJECTIVES", "METHODS"]

#: Objectives of :func:`max_coverage` and :func:`p_median`.
OBJECTIVES: tuple[str, ...] = ("coverage", "mean-time")
#: Solution methods.
METHODS: tuple[str, ...] = ("greedy", "exact")
#: Default time limit of an exact solve (seconds).
TIME_LIMIT_S = 120.0


@dataclass(frozen=True)
class Solution:
    """A set of new sites.

    Attributes
    ----------
    problem : str
        ``coverage``, ``mean-time`` or ``cover-all``.
    method : str
        ``greedy`` or ``exact``.
    chosen : np.ndarray of int
        Candidate columns, in order of marginal gain (the greedy order, also for exact sets).
    gains : np.ndarray of float
        Marginal gain of each chosen candidate in that order: inhabitants newly within the
        threshold (coverage), inhabitant-minutes saved (mean-time), demand points newly within
        the threshold (cover-all).
    objective : float
        Inhabitants within the threshold after (coverage); population-weighted mean time after,
        minutes (mean-time); number of new sites (cover-all).
    before : float
        The same measure with the existing sites only.
    optimal : bool
        Optimality proven (always False for greedy, unless it equals a proven bound).
    seconds : float
    status : str
        Solver message.
    """

    problem: str
    method: str
    chosen: np.ndarray
    gains: np.ndarray
    objective: float
    before: float
    optimal: bool
    seconds: float
    status: str = ""


class InfeasibleCover(NoServiceError):
    """No set of candidates brings every demand point within the threshold.

    Attributes
    ----------
    uncoverable : np.ndarray of int
        The demand points that no candidate (and no existing site) reaches in time: the proof.
    """

    def __init__(self, message: str, uncoverable: np.ndarray):
        super().__init__(message)
        self.uncoverable = uncoverable


def _check(cost, weights, base, k=None, threshold=None):
    try:
        cost = np.asarray(cost, dtype=np.float64)
        weights = np.asarray(weights, dtype=np.float64)
        base = np.asarray(base, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError("cost, weights and base must be numeric arrays") from None
    if cost.ndim != 2 or weights.shape != (cost.shape[0],) or base.shape != (cost.shape[0],):
        raise InvalidParameterError(
            f"cost must be (n, m), weights and base (n,); got {cost.shape}, {weights.shape}, {base.shape}"
        )
    if np.isnan(cost).any() or (cost < 0).any() or np.isnan(base).any() or (base < 0).any():
        raise InvalidParameterError("times must be >= 0 minutes (inf when unreachable), never NaN")
    if not np.all(np.isfinite(weights)) or (weights < 0).any():
        raise InvalidParameterError("weights must be finite and >= 0")
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidParameterError(f"the number of new sites must be an integer >= 1, got {k!r}")
        if k > cost.shape[1]:
            raise InvalidParameterError(f"cannot choose {k} new sites among {cost.shape[1]} candidates")
    if threshold is not None and not (isinstance(threshold, (int, float, np.floating)) and 0 < threshold < np.inf):
        raise InvalidParameterError(f"threshold must be a positive number of minutes, got {threshold!r}")
    return cost, weights, base


def _milp(c, A, lb, ub, integrality, bounds, time_limit):
    from scipy.optimize import LinearConstraint, milp

    res = milp(c, constraints=[LinearConstraint(A, lb, ub)], integrality=integrality, bounds=bounds,
               options={"time_limit": float(time_limit), "disp": False})
    if res.x is None:
        raise NoServiceError(f"the solver found no solution: {res.message}")
    optimal = res.status == 0
    return res.x, optimal, str(res.message)


def _order_by_gain(chosen, gain_of):
    """Order an exact set like greedy would: each next one with the largest marginal gain.

    ``gain_of(order, j)`` returns a tuple compared lexicographically; its last element is the
    gain reported.
    """
    left, order, gains = list(chosen), [], []
    while left:
        g = [gain_of(order, j) for j in left]
        i = max(range(len(left)), key=lambda t: (g[t], -left[t]))
        order.append(left.pop(i))
        gains.append(g[i][-1])
    return np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=np.float64)


def _best(keys: list, skip) -> int:
    """Index of the largest key tuple (ties: the lowest index), ``skip`` excluded."""
    best, best_key = -1, None
    for j, key in enumerate(keys):
        if j in skip:
            continue
        if best_key is None or key > best_key:
            best, best_key = j, key
    return best


# ---------------------------------------------------------------------------------------- MCLP


def max_coverage(cost, weights, base, threshold: float, k: int, *, method: str = "greedy",
                 time_limit: float = TIME_LIMIT_S) -> Solution:
    """Choose ``k`` candidates to bring the most inhabitants within ``threshold`` minutes.

    Parameters
    ----------
    cost : array (n, m)
        Minutes from each demand point to each candidate (``inf``: unreachable).
    weights : array (n,)
        Inhabitants.
    base : array (n,)
        Minutes to the nearest existing site (``inf`` when none).
    threshold : float
        Minutes; within means ``<=``.
    k : int
        New sites.
    method : {"greedy", "exact"}

    Returns
    -------
    Solution
        ``objective``: inhabitants within the threshold after; ``before``: today.
    """
    cost, w, base = _check(cost, weights, base, k, threshold)
    t0 = time.perf_counter()
    reach = cost <= threshold
    covered0 = base <= threshold
    before = float(w[covered0].sum())

    def gain_of(chosen, j):
        cov = covered0 | (reach[:, chosen].any(axis=1) if chosen else False)
        return (float(w[~cov & reach[:, j]].sum()),)

    if method == "greedy":
        covered, chosen, gains = covered0.copy(), [], []
        for _ in range(k):
            g = w[~covered] @ reach[~covered]
            g[chosen] = -1.0
            j = int(np.argmax(g))
            chosen.append(j)
            gains.append(float(g[j]))
            covered |= reach[:, j]
        return Solution("coverage", "greedy", np.asarray(chosen), np.asarray(gains), float(w[covered].sum()), before,
                        False, time.perf_counter() - t0, "greedy")
    if method != "exact":
        raise InvalidParameterError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    from scipy.sparse import csr_array, hstack, identity, vstack

    U = np.flatnonzero(~covered0 & reach.any(axis=1))
    m, nu = cost.shape[1], len(U)
    # y_i <= sum_{j in N_i} x_j  for uncovered i ; sum x = k
    A_cov = hstack([-csr_array(reach[U].astype(np.float64)), identity(nu, format="csr")])
    A_k = csr_array(np.concatenate([np.ones(m), np.zeros(nu)])[None, :])
    A = vstack([A_cov, A_k]).tocsr()
    lb = np.concatenate([np.full(nu, -np.inf), [k]])
    ub = np.concatenate([np.zeros(nu), [k]])
    c = np.concatenate([np.zeros(m), -w[U]])
    from scipy.optimize import Bounds

    integrality = np.concatenate([np.ones(m), np.zeros(nu)])
    x, optimal, status = _milp(c, A, lb, ub, integrality, Bounds(0, 1), time_limit)
    chosen = np.flatnonzero(x[:m] > 0.5)
    order, gains = _order_by_gain(list(chosen), gain_of)
    covered = covered0 | reach[:, order].any(axis=1)
    return Solution("coverage", "exact", order, gains, float(w[covered].sum()), before, optimal,
                    time.perf_counter() - t0, status)


# ------------------------------------------------------------------------------------ p-median


def _weighted_mean(w, t) -> float:
    ok = np.isfinite(t) & (w > 0)
    return float((w[ok] * t[ok]).sum() / w[ok].sum()) if ok.any() and w[ok].sum() > 0 else float("nan")


def p_median(cost, weights, base, k: int, *, method: str = "greedy", time_limit: float = TIME_LIMIT_S) -> Solution:
    """Choose ``k`` candidates to minimise the population-weighted time to the nearest site.

    Demand points that no existing site reaches (``base`` is ``inf``) must be served by a new
    one (they weigh first: a set leaving fewer of them unserved is always better).

    Returns
    -------
    Solution
        ``objective`` and ``before``: population-weighted mean time (minutes) after and today,
        over the demand points served; ``gains``: inhabitant-minutes saved by each new site.
    """
    cost, w, base = _check(cost, weights, base, k)
    t0 = time.perf_counter()
    n, m = cost.shape
    before = _weighted_mean(w, base)

    def total(t):  # (unserved inhabitants, inhabitant-minutes among served)
        fin = np.isfinite(t)
        return float(w[~fin].sum()), float((w[fin] * t[fin]).sum())

    def gain_of(chosen, j):  # (inhabitants newly served, inhabitant-minutes saved)
        cur = np.minimum(base, cost[:, chosen].min(axis=1)) if chosen else base
        (u0, t0_), (u1, t1) = total(cur), total(np.minimum(cur, cost[:, j]))
        return (u0 - u1, t0_ - t1 if u0 == u1 else 0.0)

    if method == "greedy":
        cur, chosen, gains = base.copy(), [], []
        for _ in range(k):
            M = np.minimum(cur[:, None], cost)
            fin = np.isfinite(M)
            unserved = (w[:, None] * ~fin).sum(axis=0)
            minutes = np.where(fin, w[:, None] * np.where(fin, M, 0.0), 0.0).sum(axis=0)
            unserved[chosen] = np.inf
            best = int(np.lexsort((np.arange(m), minutes, unserved))[0])  # fewest unserved, then least time
            new = np.minimum(cur, cost[:, best])
            gains.append(total(cur)[1] - total(new)[1])
            chosen.append(best)
            cur = new
        return Solution("mean-time", "greedy", np.asarray(chosen), np.asarray(gains), _weighted_mean(w, cur), before,
                        False, time.perf_counter() - t0, "greedy")
    if method != "exact":
        raise InvalidParameterError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    return _p_median_exact(cost, w, base, k, time_limit, t0, before, gain_of)


def _p_median_exact(cost, w, base, k, time_limit, t0, before, gain_of) -> Solution:
    from scipy.optimize import Bounds
    from scipy.sparse import coo_array, csr_array, vstack

    n, m = cost.shape
    inf_base = ~np.isfinite(base)
    served = ~inf_base | np.isfinite(cost).any(axis=1)  # the rest cannot be served at all
    better = (cost < base[:, None]) & np.isfinite(cost) & served[:, None]
    pi, pj = np.nonzero(better)
    npairs = len(pi)
    # variables: x (m) then z (npairs); minimise sum w_i (c_ij - b_i) z_ij (b_i = 0 where inf)
    b_eff = np.where(inf_base, 0.0, base)
    c = np.concatenate([np.zeros(m), w[pi] * (cost[pi, pj] - b_eff[pi])])
    rows_i = np.unique(pi)
    ridx = np.searchsorted(rows_i, pi)
    A_assign = coo_array((np.ones(npairs), (ridx, m + np.arange(npairs))), shape=(len(rows_i), m + npairs))
    lb_assign = np.where(inf_base[rows_i], 1.0, -np.inf)
    ub_assign = np.ones(len(rows_i))
    A_link = coo_array((np.concatenate([np.ones(npairs), -np.ones(npairs)]),
                        (np.concatenate([np.arange(npairs)] * 2), np.concatenate([m + np.arange(npairs), pj]))),
                       shape=(npairs, m + npairs))
    A_k = csr_array(np.concatenate([np.ones(m), np.zeros(npairs)])[None, :])
    A = vstack([A_assign.tocsr(), A_link.tocsr(), A_k]).tocsr()
    lb = np.concatenate([lb_assign, np.full(npairs, -np.inf), [k]])
    ub = np.concatenate([ub_assign, np.zeros(npairs), [k]])
    integrality = np.concatenate([np.ones(m), np.zeros(npairs)])
    x, optimal, status = _milp(c, A, lb, ub, integrality, Bounds(0, 1), time_limit)
    chosen = np.flatnonzero(x[:m] > 0.5)
    order, gains = _order_by_gain(list(chosen), gain_of)
    cur = np.minimum(base, cost[:, order].min(axis=1)) if len(order) else base
    return Solution("mean-time", "exact", order, gains, _weighted_mean(w, cur), before, optimal,
                    time.perf_counter() - t0, status)


# ---------------------------------------------------------------------------------------- LSCP


def set_cover(cost, base, threshold: float, *, weights=None, method: str = "greedy",
              time_limit: float = TIME_LIMIT_S) -> Solution:
    """The fewest candidates so that every demand point is within ``threshold`` minutes.

    Raises
    ------
    InfeasibleCover
        Some demand points are reached in time by no candidate and no existing site; they are
        listed (``.uncoverable``): the proof that no set of candidates can.

    Returns
    -------
    Solution
        ``objective``: the number of new sites; ``gains``: demand points newly within the
        threshold for each; ``before``: demand points beyond today.
    """
    w = np.ones(np.shape(cost)[0]) if weights is None else weights
    cost, w, base = _check(cost, w, base, None, threshold)
    t0 = time.perf_counter()
    reach = cost <= threshold
    need = base > threshold
    uncoverable = np.flatnonzero(need & ~reach.any(axis=1))
    if len(uncoverable):
        raise InfeasibleCover(
            f"{len(uncoverable)} demand points are more than {threshold:g} min from every candidate and every "
            "existing site: no set of candidates brings everyone within the threshold", uncoverable)
    D = np.flatnonzero(need)
    before = float(len(D))

    def gain_of(chosen, j):
        cov = reach[D][:, chosen].any(axis=1) if chosen else np.zeros(len(D), bool)
        return (float((~cov & reach[D, j]).sum()),)

    if len(D) == 0:
        return Solution("cover-all", method, np.zeros(0, np.int64), np.zeros(0), 0.0, 0.0, True,
                        time.perf_counter() - t0, "everyone is already within the threshold")
    if method == "greedy":
        covered = np.zeros(len(D), dtype=bool)
        chosen, gains = [], []
        R = reach[D]
        while not covered.all():
            cnt = R[~covered].sum(axis=0).astype(np.float64)
            pop = w[D][~covered] @ R[~covered]
            j = _best(list(zip(cnt, pop)), set(chosen))  # most points, then most inhabitants
            chosen.append(j)
            gains.append(float(cnt[j]))
            covered |= R[:, j]
        return Solution("cover-all", "greedy", np.asarray(chosen), np.asarray(gains), float(len(chosen)), before,
                        False, time.perf_counter() - t0, "greedy")
    if method != "exact":
        raise InvalidParameterError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    from scipy.optimize import Bounds
    from scipy.sparse import csr_array

    m = cost.shape[1]
    A = csr_array(reach[D].astype(np.float64))
    x, optimal, status = _milp(np.ones(m), A, np.ones(len(D)), np.full(len(D), np.inf), np.ones(m),
                               Bounds(0, 1), time_limit)
    chosen = np.flatnonzero(x > 0.5)
    order, gains = _order_by_gain(list(chosen), gain_of)
    return Solution("cover-all", "exact", order, gains, float(len(order)), before, optimal,
                    time.perf_counter() - t0, status)
