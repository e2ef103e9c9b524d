"""The graph cache is trusted by its content, not its shape: random byte flips and random array
corruptions are detected (and the graph rebuilt), never a crash or a wrong time."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accessibility.errors import InputFileError
from accessibility.network.graph import _ARRAYS, load_graph, read_graph
from accessibility.routing import nearest_source


@pytest.fixture(scope="module")
def cached(embedded_graph, cache_dir) -> Path:
    """The embedded graph's cache directory (built by the session fixture)."""
    dirs = [d for d in cache_dir.glob("graph-alpes-du-sud-*") if d.is_dir()]
    assert len(dirs) == 1
    return dirs[0]


@pytest.fixture(scope="module")
def reference(cached):
    return read_graph(cached)


def _copy(src: Path, root: Path) -> Path:
    dst = root / src.name
    shutil.copytree(src, dst)
    return dst


def _same(a, b) -> bool:
    return all(np.array_equal(getattr(a, n), getattr(b, n), equal_nan=True) for n in _ARRAYS)


FILES = ["meta.json", "indptr.npy", "indices.npy", "time_s.npy", "rev_indptr.npy", "rev_time_s.npy", "x.npy",
         "chain_tail.npy", "shape_chain.npy", "shape_offset_s.npy", "snap.cell_ptr.npy", "snap.cell_vert.npy",
         "snap.vx.npy", "core_fwd.c_indices.npy", "core_fwd.c_time_s.npy", "core_rev.anchor1.npy", "core_rev.offset2_s.npy",
         "core_fwd.n_slots.npy", "core_fwd.c_length_m.npy", "core_rev.offset1_m.npy"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(FILES), where=st.floats(0, 1, exclude_max=True), xor=st.integers(1, 255),
       count=st.integers(1, 4))
def test_byte_flips_are_detected(cached, reference, name, where, xor, count):
    with tempfile.TemporaryDirectory() as d:
        g = _copy(cached, Path(d))
        f = g / name
        data = bytearray(f.read_bytes())
        k = int(where * len(data))
        for i in range(k, min(k + count, len(data))):
            data[i] ^= xor
        f.write_bytes(bytes(data))
        try:
            back = read_graph(g)
        except InputFileError:
            return
        # a flip the format cannot see (e.g. in the .npy header's padding) changes nothing
        assert _same(back, reference)


def _rewrite(g: Path, name: str, a: np.ndarray) -> None:
    """Write a corrupted array *with* a matching CRC, as a consistent-looking but wrong cache."""
    np.save(g / f"{name}.npy", a, allow_pickle=False)
    meta = json.loads((g / "meta.json").read_text())
    b = np.asarray(a, order="C")
    meta["arrays"][name] = {"dtype": b.dtype.str, "shape": list(b.shape),
                            "crc32": zlib.crc32(memoryview(b).cast("B")) if b.size else 0}
    (g / "meta.json").write_text(json.dumps(meta))


CORRUPTIONS = {
    "index-out-of-range": ("indices", lambda a, r: _at(a, r, a.max() + 1 + r.integers(0, 1000))),
    "negative-index": ("rev_indices", lambda a, r: _at(a, r, -1 - r.integers(0, 5))),
    "negative-time": ("time_s", lambda a, r: _at(a, r, -r.uniform(0.1, 100))),
    "nan-time": ("rev_time_s", lambda a, r: _at(a, r, np.nan)),
    "inf-length": ("length_m", lambda a, r: _at(a, r, np.inf)),
    "changed-time": ("time_s", lambda a, r: _at(a, r, a[r.integers(0, len(a))] * 3 + 7)),
    "non-monotone-pointer": ("indptr", lambda a, r: _swap(a, r)),
    "short-pointer": ("rev_indptr", lambda a, r: a[:-1].copy()),
    "chain-out-of-range": ("shape_chain", lambda a, r: _at2(a, r, 10**9)),
    "offset-beyond-chain": ("shape_offset_s", lambda a, r: _at2(a, r, 1e9)),
    "node-coordinate": ("y", lambda a, r: _at(a, r, 123.0)),
    "snap-vertex-dup": ("snap.cell_vert", lambda a, r: _at(a, r, a[0])),
    "snap-pointer": ("snap.cell_ptr", lambda a, r: _swap(a, r)),
    "core-index": ("core_fwd.c_indices", lambda a, r: _at(a, r, 10**8)),
    "core-negative-time": ("core_rev.c_time_s", lambda a, r: _at(a, r, -1.0)),
    "core-anchor": ("core_fwd.anchor2", lambda a, r: _at(a, r, 10**8)),
    "core-offset": ("core_rev.offset1_s", lambda a, r: _at(a, r, np.nan)),
    "core-slots": ("core_fwd.n_slots", lambda a, r: np.asarray(3)),
    "core-delta": ("core_fwd.inv_delta", lambda a, r: np.asarray(-1.0)),
    "core-negative-length": ("core_fwd.c_length_m", lambda a, r: _at(a, r, -1.0)),
    "core-offset-metres": ("core_rev.offset2_m", lambda a, r: _at(a, r, np.inf)),
}


def _at(a, r, value):
    b = a.copy()
    b[r.integers(0, len(b))] = value
    return b


def _at2(a, r, value):
    b = a.copy()
    b[r.integers(0, len(b)), 0] = value
    return b


def _swap(a, r):
    b = a.copy()
    i = r.integers(1, len(b) - 2)
    while b[i] == b[i + 1] and i < len(b) - 2:
        i += 1
    b[i], b[i + 1] = b[i + 1] + 1, b[i]
    return b


@pytest.mark.parametrize("case", CORRUPTIONS, ids=list(CORRUPTIONS))
@pytest.mark.parametrize("seed", range(3))
def test_array_corruptions_are_refused(cached, case, seed, tmp_path):
    name, corrupt = CORRUPTIONS[case]
    g = _copy(cached, tmp_path)
    a = np.load(g / f"{name}.npy")
    _rewrite(g, name, corrupt(a, np.random.default_rng(seed)))
    with pytest.raises(InputFileError, match="inconsistent|damaged"):
        read_graph(g)


@pytest.mark.slow
def test_corrupt_cache_is_rebuilt_with_the_same_times(cached, reference, tmp_path, caplog):
    root = tmp_path / "cache"
    root.mkdir()
    g = _copy(cached, root)
    a = np.load(g / "indices.npy")
    _rewrite(g, "indices", _at(a, np.random.default_rng(0), 10**7))
    with caplog.at_level(logging.WARNING, logger="accessibility.network.graph"):
        rebuilt = load_graph(cache_dir=root)
    assert not rebuilt.report.from_cache and "rebuilding" in caplog.text
    assert _same(rebuilt, reference)
    t1, _ = nearest_source(rebuilt, [0, 500])
    t2, _ = nearest_source(reference, [0, 500])
    np.testing.assert_array_equal(t1, t2)
    assert load_graph(cache_dir=root).report.from_cache


def test_a_cache_of_another_source_is_not_used(cached, tmp_path, caplog):
    """The cache binds itself to the source's sha256: a cache copied under the key of another
    file is refused."""
    root = tmp_path / "cache"
    root.mkdir()
    g = _copy(cached, root)
    meta = json.loads((g / "meta.json").read_text())
    meta["report"]["source_sha256"] = "0" * 64
    (g / "meta.json").write_text(json.dumps(meta))
    with caplog.at_level(logging.WARNING, logger="accessibility.network.graph"):
        fresh = load_graph(cache_dir=root)
    assert not fresh.report.from_cache and "another file or profile" in caplog.text


def test_stale_temporary_files_are_cleaned(cached, tmp_path):
    root = tmp_path / "cache"
    root.mkdir()
    _copy(cached, root)
    stale = root / f".{cached.name}.partial-999999999-deadbeef"
    stale.mkdir()
    (stale / "x.npy").write_bytes(b"half")
    (root / "graph-old.npz.999999999.tmp").write_bytes(b"half")
    (root / f".{cached.name}.old-999999999-deadbeef").mkdir()  # replaced, not yet removed
    stale_ch = root / cached.name / ".ch.partial-999999999-deadbeef"  # a hierarchy being saved
    stale_ch.mkdir()
    live = root / f".{cached.name}.partial-{os.getpid()}-cafe0123"  # this process's: kept
    live.mkdir()
    assert load_graph(cache_dir=root).report.from_cache
    assert sorted(p.name for p in root.iterdir()) == sorted([cached.name, live.name])
    assert not stale_ch.exists()
