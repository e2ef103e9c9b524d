"""``strategy="auto"``: one rule (``routing.matrix.choose_strategy``), a pure function of the sizes
and of what is prepared (a hierarchy passed in, or saved beside the cached graph), so that the
same call picks the same algorithm whatever ran before it in the process."""

from __future__ import annotations

import numpy as np
import pytest

from accessibility.errors import InvalidParameterError
from accessibility.network.graph import graph_from_edges
from accessibility.routing import matrix as rm
from accessibility.routing.ch import build_ch
from accessibility.routing.matrix import HIERARCHY_ABOVE_PAIRS, choose_strategy


@pytest.mark.parametrize(
    "n_o, n_d, prepared, want",
    [
        (10, 10, False, "dijkstra"),
        (10, 10, True, "ch"),
        (500, 500, False, "dijkstra"),  # 250,000 pairs: not above the threshold
        (501, 500, False, "ch"),
        (1, HIERARCHY_ABOVE_PAIRS + 1, False, "ch"),
        (0, 0, True, "ch"),
        (0, 10**9, False, "dijkstra"),
    ],
)
def test_the_rule(n_o, n_d, prepared, want):
    assert choose_strategy(n_o, n_d, prepared=prepared) == want
    assert HIERARCHY_ABOVE_PAIRS == 250_000  # the documented crossover (benchmarks/README.md)


def test_explicit_strategies_pass_and_unknown_ones_raise():
    for s in ("dijkstra", "ch", "phast"):
        assert choose_strategy(10**4, 10**4, prepared=False, strategy=s) == s
    with pytest.raises(InvalidParameterError, match="strategy must be one of"):
        choose_strategy(1, 1, prepared=False, strategy="fastest")


def _grid(k: int = 30):
    """An in-memory k x k two-way grid (no cache directory)."""
    idx = np.arange(k * k).reshape(k, k)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    rng = np.random.default_rng(0)
    w = rng.integers(5, 60, len(a)).astype(float)
    u, v, t = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([w, w])
    x, y = 6.0 + 0.001 * (np.arange(k * k) % k), 44.0 + 0.001 * (np.arange(k * k) // k)
    return graph_from_edges(u, v, t, length_m=t * 10, x=x, y=y, contract=False)[0]


@pytest.fixture()
def spy(monkeypatch):
    """The strategies the matrix queries were prepared for, in call order."""
    seen: list[str] = []
    init = rm.MatrixQuery.__init__

    def record(self, *args, **kwargs):
        seen.append(kwargs["strategy"])
        init(self, *args, **kwargs)

    monkeypatch.setattr(rm.MatrixQuery, "__init__", record)
    return seen


def test_same_call_same_algorithm_whatever_ran_before(spy):
    g = _grid()
    small = np.arange(20)
    big = np.arange(g.n_nodes)  # 900 x 900 = 810,000 pairs: "ch", builds the hierarchy
    first = rm.node_matrix_s(g, small, small)
    rm.node_matrix_s(g, big, big)
    assert g.derived.hierarchy is not None  # the big call built one and the graph keeps it
    again = rm.node_matrix_s(g, small, small)
    assert spy == ["dijkstra", "ch", "dijkstra"]
    np.testing.assert_allclose(again[0], first[0], rtol=1e-12)
    np.testing.assert_allclose(again[1], first[1], rtol=1e-12)


def test_the_engine_and_the_distancier_follow_the_same_rule(spy):
    from accessibility.analyses.distancier import matrix_frame
    from accessibility.engine.places import Places, matrix_s

    g = _grid()
    rng = np.random.default_rng(1)
    p = Places.from_arrays(g, [f"p{i}" for i in range(30)], 6.0 + rng.uniform(0, 0.029, 30),
                           44.0 + rng.uniform(0, 0.029, 30))
    calls = [lambda: matrix_s(g, p, p), lambda: matrix_frame(g, p, p), lambda: rm.travel_matrix_s(g, p.snapped, p.snapped)]
    for call in calls:
        call()
    rm.node_matrix_s(g, np.arange(g.n_nodes), np.arange(g.n_nodes))  # builds and keeps a hierarchy
    for call in calls:
        call()
    assert spy == ["dijkstra"] * 3 + ["ch"] + ["dijkstra"] * 3


def test_a_hierarchy_given_or_saved_counts_as_prepared(spy, tmp_path):
    from accessibility.network.derived import keep_hierarchy

    g = _grid()
    small = np.arange(10)
    rm.node_matrix_s(g, small, small, hierarchy=build_ch(g))
    assert spy == ["ch"]
    # saved beside a (here simulated) graph cache entry: prepared on disk, for every later call
    g.derived.cache_path = tmp_path / "graph-grid"
    keep_hierarchy(g, build_ch(g))
    rm.node_matrix_s(g, small, small)
    # removed from disk: the rule no longer sees it, although the graph still keeps it in memory
    import shutil

    shutil.rmtree(tmp_path / "graph-grid" / "ch")
    rm.node_matrix_s(g, small, small)
    assert spy == ["ch", "ch", "dijkstra"]
