"""The hierarchy cache is never trusted unchecked (issue 19, class 1): every array file of a saved
hierarchy tampered in several ways (bytes flipped, values scaled, files swapped, truncated, saved
with another dtype), and meta.json too; each time the loader refuses it, or reads exactly what was
saved, and a graph's cache rebuilds it: the same arrays and the same matrices as a fresh build.
"""

from __future__ import annotations

import json
import logging
import shutil
import zlib

import numpy as np
import pytest

from accessibility.errors import InputFileError
from accessibility.network.derived import hierarchy_dir
from accessibility.network.graph import load_graph
from accessibility.network.hierarchy import _ARRAYS, load_ch, save_ch
from accessibility.routing.ch import build_ch, hierarchy
from accessibility.routing.matrix import node_matrix_s

from .conftest import write_pbf


def _grid_pbf(path, k: int = 14):
    """A k x k street grid (two-way tertiary), a one-way primary diagonal and a dead-end spur."""
    rng = np.random.default_rng(3)
    nodes = {}
    for i in range(k):
        for j in range(k):
            nodes[1 + i * k + j] = (6.0 + 0.004 * j + rng.uniform(-5e-4, 5e-4), 44.0 + 0.003 * i)
    ways = []
    for i in range(k):
        ways.append((100 + i, [1 + i * k + j for j in range(k)], {"highway": "tertiary"}))
        ways.append((200 + i, [1 + j * k + i for j in range(k)], {"highway": "residential"}))
    ways.append((300, [1 + i * k + i for i in range(k)], {"highway": "primary", "oneway": "yes"}))
    nodes[10_000] = (5.99, 44.0)
    ways.append((400, [1, 10_000], {"highway": "service"}))
    return write_pbf(path, nodes, ways)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A cached small graph with its hierarchy saved beside it, the fresh arrays and matrices."""
    root = tmp_path_factory.mktemp("ch-cache")
    pbf = _grid_pbf(root / "grid.osm.pbf")
    cache = root / "cache"
    g = load_graph(pbf, cache_dir=cache)
    fresh = hierarchy(g)
    assert hierarchy_dir(g) is not None and (hierarchy_dir(g) / "meta.json").is_file()
    rng = np.random.default_rng(5)
    src, tgt = rng.integers(0, g.n_nodes, 25), rng.integers(0, g.n_nodes, 30)
    ref = node_matrix_s(g, src, tgt, strategy="ch", hierarchy=fresh)
    return pbf, cache, fresh, (src, tgt, ref)


def _same_arrays(a, b) -> bool:
    return all(np.array_equal(np.asarray(getattr(a, n)), np.asarray(getattr(b, n))) for n in _ARRAYS) \
        and a.graph_key == b.graph_key


def _flip(f, rng):
    raw = bytearray(f.read_bytes())
    start = raw.index(b"\n") + 1 if len(raw) > 128 + 8 and raw.index(b"\n") + 1 < len(raw) else 10
    for p in rng.integers(start, len(raw), 3):
        raw[p] ^= 1 << int(rng.integers(0, 8))
    f.write_bytes(bytes(raw))


def _scale(f, rng):
    a = np.load(f)
    b = a * 0.5 if a.dtype.kind == "f" else a + 1
    if a.size and np.array_equal(a, b):  # zeros stay zeros when halved: move them instead
        b = a + 1.0
    np.save(f, b if a.size else np.ones(3, dtype=a.dtype))


def _swap(f, rng):
    a = np.load(f)
    others = [g for g in sorted(f.parent.glob("*.npy")) if g != f]
    same = [g for g in others if (lambda x: x.dtype == a.dtype and x.shape == a.shape)(np.load(g))
            and not np.array_equal(np.load(g), a)]
    other = same[0] if same else others[int(rng.integers(0, len(others)))]
    tmp = f.with_suffix(".tmp")
    f.rename(tmp)
    other.rename(f)
    tmp.rename(other)


def _truncate(f, rng):
    raw = f.read_bytes()
    f.write_bytes(raw[: max(1, len(raw) // 2)])


def _dtype(f, rng):
    a = np.load(f)
    np.save(f, a.astype(np.float32 if a.dtype.kind == "f" else (np.int64 if a.dtype.itemsize == 4 else np.int32)))


TAMPERINGS = {"flip": _flip, "scale": _scale, "swap": _swap, "truncate": _truncate, "dtype": _dtype}


def _copy(cache, tmp_path):
    out = tmp_path / "cache"
    shutil.copytree(cache, out)
    (ch_dir,) = out.glob("graph-*/ch")
    return out, ch_dir


def _check_refused_or_exact(ch_dir, g, fresh):
    try:
        got = load_ch(ch_dir, graph=g)
    except InputFileError:
        return "refused"
    assert _same_arrays(got, fresh), "a tampered hierarchy was read with other numbers"
    return "exact"


@pytest.mark.parametrize("how", list(TAMPERINGS))
@pytest.mark.parametrize("name", _ARRAYS)
def test_every_array_tampered_is_refused_then_rebuilt(prepared, tmp_path, caplog, name, how):
    pbf, cache, fresh, (src, tgt, ref) = prepared
    cache2, ch_dir = _copy(cache, tmp_path)
    TAMPERINGS[how](ch_dir / f"{name}.npy", np.random.default_rng(zlib.crc32(f"{name}-{how}".encode())))
    g = load_graph(pbf, cache_dir=cache2)
    assert g.report.from_cache
    outcome = _check_refused_or_exact(ch_dir, g, fresh)
    assert outcome == "refused" or how in ("flip",), f"{how} of {name} was not detected"
    with caplog.at_level(logging.WARNING):
        ch = hierarchy(g)
    assert _same_arrays(ch, fresh)
    if outcome == "refused":
        assert "rebuilding" in caplog.text
    t, m = node_matrix_s(g, src, tgt, strategy="ch", hierarchy=ch)
    np.testing.assert_array_equal(t, ref[0])
    np.testing.assert_array_equal(m, ref[1])
    # the rebuilt hierarchy was saved over the bad one, and is read back whole
    assert _same_arrays(load_ch(ch_dir, graph=g), fresh)


@pytest.mark.parametrize("how", ["flip", "truncate", "graph_key", "crc", "format", "missing_array"])
def test_meta_tampered_is_refused_then_rebuilt(prepared, tmp_path, caplog, how):
    pbf, cache, fresh, (src, tgt, ref) = prepared
    cache2, ch_dir = _copy(cache, tmp_path)
    f = ch_dir / "meta.json"
    if how == "flip":
        raw = bytearray(f.read_bytes())
        raw[len(raw) // 3] ^= 0x55
        f.write_bytes(bytes(raw))
    elif how == "truncate":
        f.write_bytes(f.read_bytes()[:40])
    else:
        meta = json.loads(f.read_text())
        if how == "graph_key":
            meta["graph_key"] = "0" * 24
        elif how == "crc":
            meta["arrays"]["up_time_s"]["crc32"] ^= 1
        elif how == "format":
            meta["format"] = 1
        else:
            del meta["arrays"]["down_mid"]
        f.write_text(json.dumps(meta))
    g = load_graph(pbf, cache_dir=cache2)
    assert _check_refused_or_exact(ch_dir, g, fresh) in ("refused", "exact")
    ch = hierarchy(g)
    assert _same_arrays(ch, fresh)
    np.testing.assert_array_equal(node_matrix_s(g, src, tgt, strategy="ch", hierarchy=ch)[0], ref[0])


def test_a_hierarchy_of_another_graph_is_rebuilt(prepared, tmp_path, caplog, embedded_graph):
    """Bound to its graph: another graph's (sound) hierarchy put in this graph's cache is refused."""
    pbf, cache, fresh, (src, tgt, ref) = prepared
    cache2, ch_dir = _copy(cache, tmp_path)
    from accessibility.network.graph import graph_from_edges

    other = graph_from_edges([0, 1, 1, 2], [1, 0, 2, 1], [1.0, 1.0, 2.0, 2.0], x=[6.0, 6.01, 6.02], y=[44.0] * 3,
                             contract=False)[0]
    save_ch(build_ch(other), ch_dir)
    g = load_graph(pbf, cache_dir=cache2)
    with pytest.raises(InputFileError, match="another graph"):
        load_ch(ch_dir, graph=g)
    with caplog.at_level(logging.WARNING):
        ch = hierarchy(g)
    assert "rebuilding" in caplog.text and _same_arrays(ch, fresh)


def test_the_issue_example_up_time_halved_on_the_embedded_graph(embedded_graph, cache_dir, tmp_path, caplog):
    """Issue 19: ``up_time_s.npy`` scaled by 0.5 with ``np.save`` gave matrices wrong by up to 101
    minutes; now it is detected and rebuilt, and the matrix equals a fresh build's."""
    (src_dir,) = [p for p in cache_dir.glob("graph-*") if p.is_dir() and (p / "meta.json").exists()][:1]
    cache2 = tmp_path / "cache"
    shutil.copytree(src_dir, cache2 / src_dir.name, ignore=shutil.ignore_patterns("ch"))
    g = load_graph(cache_dir=cache2)
    assert g.report.from_cache
    fresh = hierarchy(g)
    f = hierarchy_dir(g) / "up_time_s.npy"
    np.save(f, np.load(f) * 0.5)
    rng = np.random.default_rng(19)
    src, tgt = rng.integers(0, g.n_nodes, 40), rng.integers(0, g.n_nodes, 40)
    ref = node_matrix_s(g, src, tgt, strategy="ch", hierarchy=fresh)[0]
    g2 = load_graph(cache_dir=cache2)
    with pytest.raises(InputFileError, match="damaged"):
        load_ch(hierarchy_dir(g2), graph=g2)
    with caplog.at_level(logging.WARNING):
        t = node_matrix_s(g2, src, tgt, strategy="ch")[0]
    assert "rebuilding" in caplog.text
    np.testing.assert_array_equal(t, ref)
