"""Shared fixtures: the embedded graph (built once per session in a temporary cache), synthetic
PBF writers and the path to ../shared/data (tests needing it skip when it is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """A file of ../shared/data, or skip the test when it is not on this machine."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs {p} (../shared/data is only on the project's machines)")
    return p


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("graph-cache")


@pytest.fixture(scope="session")
def embedded_graph(cache_dir):
    from accessibility.network.graph import load_graph

    return load_graph(cache_dir=cache_dir)


@pytest.fixture(scope="session")
def embedded_edges():
    from accessibility.inputs.osm import read_osm_edges
    from accessibility.network.graph import default_osm_path

    return read_osm_edges(default_osm_path())


def write_pbf(path: Path, nodes: dict[int, tuple[float, float]], ways: list[tuple[int, list[int], dict]]) -> Path:
    """Write a small OSM PBF: ``nodes`` id -> (lon, lat), ``ways`` (id, node ids, tags)."""
    import osmium

    if path.exists():
        path.unlink()
    w = osmium.SimpleWriter(str(path))
    try:
        for nid in sorted(nodes):
            lon, lat = nodes[nid]
            w.add_node(osmium.osm.mutable.Node(id=nid, location=osmium.osm.Location(lon, lat), tags={}))
        for wid, refs, tags in sorted(ways, key=lambda t: t[0]):
            w.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags))
    finally:
        w.close()
    return path


def random_digraph(rng: np.random.Generator, n: int, m: int, *, max_w: float = 100.0):
    """Random directed multigraph edges ``(u, v, w)`` on ``n`` nodes."""
    u = rng.integers(0, n, m)
    v = rng.integers(0, n, m)
    w = rng.uniform(0.0, max_w, m)
    return u, v, w
