"""``access matrix`` and the distancier: long Parquet datasets equal to the in-memory matrix, the
wide arrays, a Dask LocalCluster of 2 workers giving the same rows (a failed part retried, a killed
worker's part redone), an interrupted run resumed, and bad inputs (one line, no partial dataset)."""

from __future__ import annotations

import errno
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.analyses.distancier import matrix_arrays, matrix_frame, write_matrix
from accessibility.cli.main import cli
from accessibility.engine.places import Places, matrix_s, travel_time_matrix


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    df = df.assign(origin=df["origin"].astype(str), destination=df["destination"].astype(str))
    return df.sort_values(["origin", "destination"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def places(embedded_graph):
    from accessibility.inputs.communes import load_communes

    c = load_communes()
    c = c[c["departement"] == "05"].reset_index(drop=True)
    o = Places.from_communes(embedded_graph, c)
    # destinations: some communes and a point off every road (its column is null)
    d = Places.from_arrays(embedded_graph, ["gap", "digne", "glacier"], [6.079, 6.2356, 6.8], [44.5596, 44.0925, 44.99])
    return o, d


def _scipy_reference(g, o, d):
    """Seconds and metres from each origin to each destination computed without our kernels:
    scipy's Dijkstra on the reverse graph from every anchor of a destination, plus the access
    legs of both ends; metres along scipy's predecessor path (one fastest path)."""
    from scipy.sparse.csgraph import dijkstra

    n = g.n_nodes
    so, sd = o.snapped, d.snapped
    keys = np.repeat(np.arange(n, dtype=np.int64), np.diff(g.indptr)) * n + g.indices  # sorted (CSR)
    t = np.full((len(o), len(d)), np.inf)
    m = np.full((len(o), len(d)), np.inf)
    for j in range(len(d)):
        for k in range(sd.in_ptr[j], sd.in_ptr[j + 1]):
            dist, pred = dijkstra(g.to_scipy(reverse=True), indices=int(sd.in_node[k]), return_predecessors=True)
            metres = np.zeros(n)  # metres from each node along its predecessor chain to the anchor
            order = np.argsort(dist, kind="stable")
            for v in order[np.isfinite(dist[order])]:
                if pred[v] >= 0:
                    metres[v] = metres[pred[v]] + g.length_m[np.searchsorted(keys, v * n + pred[v])]
            for i in range(len(o)):
                for q in range(so.out_ptr[i], so.out_ptr[i + 1]):
                    v = so.out_node[q]
                    ti = so.out_time_s[q] + dist[v] + sd.in_time_s[k]
                    if ti < t[i, j]:
                        t[i, j] = ti
                        m[i, j] = so.out_length_m[q] + metres[v] + sd.in_length_m[k]
    return t, m


def test_frame_equals_arrays_equals_an_independent_reference(embedded_graph, places):
    o, d = places
    g = embedded_graph
    mins, km = matrix_arrays(g, o, d)
    ref_t, ref_m = _scipy_reference(g, o, d)
    # no pair lies on one road stretch here (the nearest trip is 3 min), so the node paths of the
    # reference hold every trip; metres: scipy's one fastest path, no tie on this data
    fin = np.isfinite(ref_t)
    assert fin[:, :2].all() and not fin[:, 2].any()
    np.testing.assert_allclose(mins[fin], (ref_t / 60.0)[fin].astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(km[fin], (ref_m / 1000.0)[fin].astype(np.float32), rtol=1e-6)
    assert np.nanmin(mins) > 1.0  # the access legs and roads give every pair a real trip
    assert np.isnan(mins[:, 2]).all() and np.isfinite(mins[:, :2]).all()  # the glacier is not placed
    # the labelled frames say the same
    df = matrix_frame(g, o, d)
    assert len(df) == len(o) * 3 and df["minutes"].isna().sum() == len(o)
    np.testing.assert_allclose(df["minutes"].to_numpy(float).reshape(len(o), 3), mins, rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(df["km"].to_numpy(float).reshape(len(o), 3), km, rtol=1e-6, equal_nan=True)
    wide = travel_time_matrix(g, o, d)
    assert list(wide.index) == list(o.ids) and list(wide.columns) == ["gap", "digne", "glacier"]
    np.testing.assert_allclose(wide.to_numpy(), mins, rtol=1e-6, equal_nan=True)
    long = travel_time_matrix(g, o, d, form="long")
    pd.testing.assert_frame_equal(long.astype({"minutes": np.float32, "km": np.float32}), df,
                                  check_dtype=False, check_categorical=False, rtol=1e-6)
    np.testing.assert_allclose(matrix_s(g, o, d, strategy="dijkstra") / 60.0, np.where(np.isnan(mins), np.inf, mins),
                               rtol=1e-6)


def test_dataset_in_parts_equals_the_frame(embedded_graph, places, tmp_path):
    o, d = places
    files = write_matrix(embedded_graph, o, d, tmp_path / "m.parquet", chunk_pairs=60)
    parts = sorted((tmp_path / "m.parquet").glob("part-*.parquet"))
    assert len(parts) == -(-len(o) // 20) and files[-1].name == "_run.json"
    got = _sorted(pd.read_parquet(tmp_path / "m.parquet"))
    ref = _sorted(matrix_frame(embedded_graph, o, d))
    pd.testing.assert_frame_equal(got, ref, check_dtype=False)
    meta = json.loads((tmp_path / "m.parquet" / "_run.json").read_text())
    assert meta["counts"]["pairs_unreachable"] == len(o) and meta["counts"]["destinations_unplaced"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["m.parquet"]  # no staging left


def test_wide_arrays(embedded_graph, places, tmp_path):
    o, d = places
    write_matrix(embedded_graph, o, d, tmp_path / "w", wide=True, chunk_pairs=30)
    mins = np.load(tmp_path / "w" / "minutes.npy")
    ref, _ = matrix_arrays(embedded_graph, o, d)
    np.testing.assert_allclose(mins, ref, equal_nan=True)
    ids = pd.read_csv(tmp_path / "w" / "_destinations.csv")
    assert ids["id"].tolist() == ["gap", "digne", "glacier"] and ids["placed"].tolist() == [True, True, False]


def test_interrupted_run_resumes(embedded_graph, places, tmp_path):
    o, d = places
    out = tmp_path / "m.parquet"
    from accessibility.analyses.distancier import compute_part

    def two_then_interrupt(graph, plan, todo, staging, on_done):
        for i in todo[:2]:
            on_done(compute_part(graph, plan, i, staging))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_matrix(embedded_graph, o, d, out, chunk_pairs=60, executor=two_then_interrupt)
    assert not out.exists()
    resume = [p for p in tmp_path.iterdir() if p.name.startswith(".m.parquet.resume-")]
    assert len(resume) == 1 and len(list(resume[0].glob("part-*.parquet"))) == 2
    files = write_matrix(embedded_graph, o, d, out, chunk_pairs=60)
    meta = json.loads(files[-1].read_text())
    assert meta["counts"]["parts_resumed"] == 2
    pd.testing.assert_frame_equal(_sorted(pd.read_parquet(out)), _sorted(matrix_frame(embedded_graph, o, d)),
                                  check_dtype=False)
    assert [p.name for p in tmp_path.iterdir()] == ["m.parquet"]


def test_full_disk_mid_write_leaves_no_temporary_file(embedded_graph, places, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    o, d = places
    real = pq.write_table
    calls = {"n": 0}

    def full(table, where, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            open(where, "wb").write(b"half a part")
            raise OSError(errno.ENOSPC, "No space left on device", str(where))
        return real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", full)
    r = CliRunner().invoke(cli, ["matrix", "--departement", "05", "--chunk-pairs", "4000", "--out",
                                 str(tmp_path / "m.parquet")])
    assert r.exit_code == 1 and "No space left on device" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "m.parquet").exists()
    leftovers = [p for d_ in tmp_path.iterdir() for p in d_.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_rows(tmp_path, cache_dir, monkeypatch):
    # part 1 raises once (retried), the worker running part 2 dies once (its part is given again)
    monkeypatch.setenv("ACCESSIBILITY_TEST_FAULTS", "raise:1,kill:2")
    monkeypatch.setenv("ACCESSIBILITY_TEST_FAULTS_DIR", str(tmp_path))
    args = ["matrix", "--departement", "05", "--chunk-pairs", "8000", "--cache-dir", str(cache_dir)]
    r1 = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "local.parquet")])
    assert r1.exit_code == 0, r1.output
    r2 = CliRunner().invoke(cli, [*args, "--workers", "2", "--out", str(tmp_path / "dask.parquet")])
    assert r2.exit_code == 0, r2.output
    a, b = _sorted(pd.read_parquet(tmp_path / "local.parquet")), _sorted(pd.read_parquet(tmp_path / "dask.parquet"))
    pd.testing.assert_frame_equal(a, b)
    assert len(list((tmp_path / "dask.parquet").glob("part-*.parquet"))) > 2
    assert sorted(p.name for p in tmp_path.glob("failed-*")) == ["failed-kill-2", "failed-raise-1"]  # both happened


BAD = {
    "from-file-without-coordinates": (["--from", "FILE"], "has no coordinates"),
    "unknown-departement": (["--departement", "99"], "no commune of département(s) 99"),
    "unknown-source": (["--to", "hospitals"], "neither a known name"),
    "scheduler-not-answering": (["--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    "wide-and-workers": (["--wide", "--workers", "2"], "runs in one process"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_inputs(tmp_path, case, monkeypatch):
    import accessibility.analyses.distributed as dist

    monkeypatch.setattr(dist, "CONNECT_TIMEOUT_S", 2.0)
    args, message = BAD[case]
    f = tmp_path / "points.csv"
    f.write_text("id,name,town\n1,a,Gap\n")
    args = [str(f) if a == "FILE" else a for a in args]
    out = tmp_path / "m.parquet"
    r = CliRunner().invoke(cli, ["matrix", *args, "--out", str(out), "--cache-dir", str(tmp_path / "never")])
    assert r.exit_code != 0 and message in r.output and "Traceback" not in r.output, r.output
    assert not out.exists() and not (tmp_path / "never").exists()
