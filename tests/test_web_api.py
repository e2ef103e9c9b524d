"""``access serve``'s JSON API on a real uvicorn server on 127.0.0.1: answers equal the siting
model's (and ``access site``'s), every bad request is a 4xx JSON error after which the server
still answers, 200 concurrent what-ifs all answered correctly (latencies reported), exports,
and the command itself (starts on loopback, says so, stops on Ctrl-C)."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.cli.main import cli
from accessibility.web.api import MAX_ADDED_SITES, MAX_BODY_BYTES, MAX_K, WhatIf
from accessibility.web.planner import dumps

from .web_support import LiveServer, load_planner, percentile, record, request, server_ms


@pytest.fixture(scope="module")
def planner(cache_dir):
    return load_planner(cache_dir)


@pytest.fixture(scope="module")
def live(planner):
    from accessibility.web.app import LOOPBACK_HOSTS, create_app

    with LiveServer(create_app(planner, allowed_hosts=LOOPBACK_HOSTS)) as srv:
        yield srv


def _json(body: bytes) -> dict:
    return json.loads(body.decode("utf-8"))


def _healthy(port: int) -> None:
    status, headers, body = request(port, "GET", "/api/health")
    assert status == 200 and _json(body) == {"status": "ok"}


def _beyond_communes(planner, n: int) -> list[str]:
    """The ``n`` most populous communes beyond the threshold today (a site there changes totals)."""
    base = pd.DataFrame(_json(planner.base_json)["communes"])
    beyond = base[base["beyond"] == True].sort_values("population", ascending=False)  # noqa: E712
    return beyond["code"].head(n).tolist()


# ---------------------------------------------------------------------------------- answers


def test_base_and_polygons(planner, live):
    status, headers, body = request(live.port, "GET", "/api/base")
    assert status == 200 and headers["content-type"] == "application/json"
    base = _json(body)
    m = planner.model
    assert len(base["communes"]) == len(m.communes) == 360
    assert base["totals"] == json.loads(dumps(planner.scenario(WhatIf())["totals"]["before"]))
    assert {s["id"] for s in base["sites"]} == set(m.sites.ids)
    assert base["limits"]["max_k"] == MAX_K and base["basemap"] is None and base["gamme"] is None
    w, s, e, n = base["bbox"]
    assert w < 6.2356 < e and s < 44.0925 < n  # Digne
    status, headers, body = request(live.port, "GET", "/api/communes.geojson")
    gj = _json(body)
    codes = {f["properties"]["code"] for f in gj["features"]}
    assert status == 200 and len(codes) == len(gj["features"]) == 360 and codes == {c["code"] for c in base["communes"]}
    status, headers, body = request(live.port, "GET", "/")
    assert status == 200 and b"Meilleur site suivant" in body and headers["content-type"].startswith("text/html")
    for path in ("/static/app.js", "/static/app.css", "/static/vendor/leaflet-1.9.4/leaflet.js",
                 "/static/vendor/leaflet-1.9.4/LICENSE"):
        status, headers, body = request(live.port, "GET", path)
        assert status == 200 and len(body) > 100, path
        assert "content-security-policy" in headers and headers["x-content-type-options"] == "nosniff"


def test_tier_colours_by_the_gamme_time_of_access_compute(cache_dir):
    """``--tier``: each commune's gamme time and zone grise are ``access compute``'s (its golden
    table, made by the code before the placement refactor)."""
    from .test_golden import GOLDEN

    p = load_planner(cache_dir, tier="intermediaire")
    base = _json(p.base_json)
    g = base["gamme"]
    assert (g["tier"], g["label"], g["threshold_min"]) == ("intermediaire", "intermédiaire", 20.0)
    assert g["classes"]["edges"][4] == 20.0
    golden = pd.read_csv(GOLDEN / "access_times.csv.gz", dtype={"code": str, "departement": str})
    golden = golden[(golden["tier"] == "intermediaire") & (golden["method"] == "mean")].set_index("code")
    assert g["equipments"] == int(golden["equipments"].iloc[0])
    shown = pd.DataFrame(base["communes"]).set_index("code")
    assert set(shown.index) == set(golden.index) and len(golden) == 360
    shown = shown.loc[golden.index]
    np.testing.assert_array_equal(shown["gamme_minutes"].astype(float).to_numpy(), golden["minutes"].to_numpy(float))
    measured = golden["minutes"].notna().to_numpy()
    assert 0 < golden["zone_grise"][measured].astype(str).eq("True").sum() < measured.sum()  # some, not all
    assert (shown["gamme_beyond"][measured].astype(bool).to_numpy()
            == golden["zone_grise"][measured].astype(str).eq("True").to_numpy()).all()
    assert shown["gamme_beyond"][~measured].isna().all()


def test_what_if_equals_the_model(planner, live):
    m = planner.model
    code = _beyond_communes(planner, 1)[0]
    removed = str(m.sites.ids[m.sites.placed][0])
    i = int(np.flatnonzero(m.communes.ids == "04070")[0])  # a point at Digne's centre
    body = {"add_communes": [code], "remove": [removed],
            "add_points": [{"lon": float(m.communes.lon[i]), "lat": float(m.communes.lat[i]), "label": "Digne bis"}]}
    status, headers, raw = request(live.port, "POST", "/api/scenario", body)
    assert status == 200, raw
    got = _json(raw)
    add = m.place_points([m.communes.lon[i]], [m.communes.lat[i]], ["Digne bis"], ids=["point-1"]).union(
        m.place_communes([code]))
    sc = m.evaluate(add=add, remove=[removed])
    t = sc.totals.set_index("when")
    for when in ("before", "after"):
        for k in ("communes_beyond", "population_beyond", "mean_minutes", "weighted_mean_minutes"):
            assert got["totals"][when][k] == t.loc[when, k], (when, k)
    after = {c["code"]: c["minutes_after"] for c in got["communes"]}
    exp = sc.communes.set_index("code")["minutes_after"]
    assert all(after[c] == pytest.approx(v) for c, v in exp.items())
    assert [c["code"] for c in got["crossings"]] == sc.crossings["code"].tolist()
    status_by_id = {s["id"]: s["status"] for s in got["sites"]}
    assert status_by_id[removed] == "removed" and status_by_id[f"commune-{code}"] == "added"
    assert status_by_id["point-1"] == "added"
    assert "compute;dur=" in headers["server-timing"] and server_ms(headers) > 0


def test_what_if_equals_access_site(planner, live, cache_dir, tmp_path):
    """The same scenario through the page's API and through ``access site``: the same totals."""
    m = planner.model
    code = _beyond_communes(planner, 2)[1]
    removed = str(m.sites.ids[m.sites.placed][1])
    out = tmp_path / "site"
    r = CliRunner().invoke(cli, ["site", "--add-commune", code, "--remove", removed, "--no-maps", "--out", str(out),
                                 "--cache-dir", str(cache_dir)])
    assert r.exit_code == 0, r.output
    cli_totals = pd.read_csv(out / "totals.csv").set_index("when")
    status, _, raw = request(live.port, "POST", "/api/scenario", {"add_communes": [code], "remove": [removed]})
    got = _json(raw)["totals"]
    for when in ("before", "after"):
        for k in ("communes", "communes_beyond", "population_beyond", "share_population_beyond", "mean_minutes",
                  "weighted_mean_minutes"):
            assert got[when][k] == pytest.approx(cli_totals.loc[when, k], abs=1e-9), (when, k)
    cli_communes = pd.read_csv(out / "communes.csv", dtype={"code": str}).set_index("code")["minutes_after"]
    page = pd.Series({c["code"]: c["minutes_after"] for c in _json(raw)["communes"]})
    assert np.allclose(page.reindex(cli_communes.index).to_numpy(float), cli_communes.to_numpy(float), equal_nan=True)


def test_best_next_sites(planner, live):
    timings = {}
    for k in range(1, MAX_K + 1):
        t0 = time.perf_counter()
        status, headers, raw = request(live.port, "POST", "/api/optimize", {"k": k, "objective": "coverage"})
        timings[k] = round((time.perf_counter() - t0) * 1000, 1)
        assert status == 200, raw
        o = _json(raw)
        assert len(o["greedy"]["sites"]) == len(o["exact"]["sites"]) == k
        assert o["exact"]["objective"] >= o["greedy"]["objective"] >= o["exact"]["before"]
        # adding the exact picks as a what-if gives the totals the optimisation announced
        codes = [s["code"] for s in o["exact"]["sites"]]
        _, _, raw2 = request(live.port, "POST", "/api/scenario", {"add_communes": codes})
        assert _json(raw2)["totals"]["after"] == o["totals_after"]
        within = o["totals_after"]["population"] - o["totals_after"]["population_beyond"]
        assert within == pytest.approx(o["exact"]["objective"])
    # on top of a what-if: the sites already added are not proposed again
    first = _json(request(live.port, "POST", "/api/optimize", {"k": 1})[2])["exact"]["sites"][0]["code"]
    o = _json(request(live.port, "POST", "/api/optimize", {"k": 1, "add_communes": [first],
                                                           "objective": "mean-time"})[2])
    assert o["exact"]["sites"][0]["code"] != first and o["objective"] == "mean-time"
    print(f"\nbest next sites, wall ms per k (greedy + exact): {timings}")


def test_exports(planner, live, tmp_path):
    import geopandas as gpd

    code = _beyond_communes(planner, 1)[0]
    body = {"add_communes": [code]}
    status, headers, raw = request(live.port, "POST", "/api/export/csv", body)
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert 'filename="scenario-communes.csv"' in headers["content-disposition"]
    df = pd.read_csv(io.BytesIO(raw), dtype={"code": str})
    assert len(df) == 360 and {"minutes_before", "minutes_after", "crossing"} <= set(df.columns)
    assert df.set_index("code").loc[code, "minutes_after"] < df.set_index("code").loc[code, "minutes_before"]
    status, headers, raw = request(live.port, "POST", "/api/export/gpkg", body)
    assert status == 200 and raw[:16] == b"SQLite format 3\x00"
    p = tmp_path / "s.gpkg"
    p.write_bytes(raw)
    sites = gpd.read_file(p, layer="sites")
    assert (sites["status"] == "added").sum() == 1 and len(gpd.read_file(p, layer="communes")) == 360
    status, headers, raw = request(live.port, "POST", "/api/export/png", body)
    assert status == 200 and raw[:8] == b"\x89PNG\r\n\x1a\n" and headers["content-type"] == "image/png"


# ---------------------------------------------------------------------------------- bad requests

_POINT_FAR_FROM_ROADS = {"lon": 6.3, "lat": 44.3}  # 1.1 km from the nearest road of the extract

BAD_REQUESTS = {
    "coordinates-outside-the-area": ("POST", "/api/scenario", {"add_points": [{"lon": 2.35, "lat": 48.85}]}, 400, "hors de la zone"),
    "coordinates-not-numbers": ("POST", "/api/scenario", {"add_points": [{"lon": "6.2", "lat": 44.1}]}, 400, "doit être un nombre"),
    "coordinates-boolean": ("POST", "/api/scenario", {"add_points": [{"lon": True, "lat": 44.1}]}, 400, "doit être un nombre"),
    "coordinates-missing": ("POST", "/api/scenario", {"add_points": [{"lon": 6.2}]}, 400, "lon et lat sont requis"),
    "coordinates-nan": ("POST", "/api/scenario", b'{"add_points": [{"lon": NaN, "lat": 44.1}]}', 400, "JSON illisible"),
    "point-far-from-roads": ("POST", "/api/scenario", {"add_points": [_POINT_FAR_FROM_ROADS]}, 422, "trop loin de toute route"),
    "label-too-long": ("POST", "/api/scenario", {"add_points": [{"lon": 6.2356, "lat": 44.0925, "label": "x" * 500}]}, 400, "label"),
    "unknown-site-id": ("POST", "/api/scenario", {"remove": ["no-such-site"]}, 400, "site inconnu 'no-such-site'"),
    "site-removed-twice": ("POST", "/api/scenario", {"remove": ["SITE", "SITE"]}, 400, "retiré deux fois"),
    "unknown-commune": ("POST", "/api/scenario", {"add_communes": ["75056"]}, 400, "commune inconnue '75056'"),
    "commune-added-twice": ("POST", "/api/scenario", {"add_communes": ["04070", "04070"]}, 400, "ajoutée deux fois"),
    "commune-not-text": ("POST", "/api/scenario", {"add_communes": [4070]}, 400, "identifiant"),
    "too-many-sites": ("POST", "/api/scenario", {"add_communes": [f"{i:05d}" for i in range(MAX_ADDED_SITES + 1)]}, 400, "au plus"),
    "unknown-field": ("POST", "/api/scenario", {"add": []}, 400, "champ inconnu 'add'"),
    "not-a-list": ("POST", "/api/scenario", {"remove": "SITE"}, 400, "doit être une liste"),
    "k-too-large": ("POST", "/api/optimize", {"k": MAX_K + 1}, 400, f"de 1 à {MAX_K}"),
    "k-zero": ("POST", "/api/optimize", {"k": 0}, 400, f"de 1 à {MAX_K}"),
    "k-text": ("POST", "/api/optimize", {"k": "2"}, 400, f"de 1 à {MAX_K}"),
    "unknown-objective": ("POST", "/api/optimize", {"k": 1, "objective": "fastest"}, 400, "objectif inconnu"),
    "k-on-scenario": ("POST", "/api/scenario", {"k": 1}, 400, "champ inconnu 'k'"),
    "not-json-content-type": ("POST", "/api/scenario", b"add=04070", 415, "Content-Type: application/json"),
    "malformed-json": ("POST", "/api/scenario", b'{"add_communes": [', 400, "JSON illisible"),
    "json-not-an-object": ("POST", "/api/scenario", b"[1, 2]", 400, "objet JSON"),
    "deeply-nested-json": ("POST", "/api/scenario", b"[" * 60000, 400, "JSON illisible"),
    "not-utf8": ("POST", "/api/scenario", b'{"remove": ["\xff"]}', 400, "UTF-8"),
    "empty-body": ("POST", "/api/scenario", b"", 400, "objet JSON"),
    "body-over-the-limit": ("POST", "/api/scenario", b" " * (MAX_BODY_BYTES + 1), 413, "trop grosse"),
    "unknown-export-format": ("POST", "/api/export/xlsx", {}, 404, "format d'export inconnu"),
    "get-on-a-post-route": ("GET", "/api/scenario", None, 405, "méthode non admise"),
    "post-on-a-get-route": ("POST", "/api/base", {}, 405, "méthode non admise"),
    "unknown-route": ("GET", "/api/nothing", None, 404, "introuvable"),
    "traversal-raw": ("GET", "/../../etc/passwd", None, 404, "introuvable"),
    "traversal-static": ("GET", "/static/../../../../etc/passwd", None, 404, "introuvable"),
    "traversal-encoded": ("GET", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", None, 404, "introuvable"),
    "traversal-encoded-slash": ("GET", "/static/..%2f..%2f..%2fetc%2fpasswd", None, 404, "introuvable"),
    "traversal-absolute": ("GET", "/static//etc/passwd", None, 404, "introuvable"),
    "traversal-to-python-source": ("GET", "/static/../app.py", None, 404, "introuvable"),
    "static-directory": ("GET", "/static/vendor/", None, 404, "introuvable"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=list(BAD_REQUESTS))
def test_bad_request_is_a_json_4xx_and_the_server_goes_on(planner, live, case):
    method, path, body, expected, message = BAD_REQUESTS[case]
    site = str(planner.model.sites.ids[0])
    if isinstance(body, dict):
        body = json.loads(json.dumps(body).replace('"SITE"', json.dumps(site)))
    ctype = "application/x-www-form-urlencoded" if case == "not-json-content-type" else "application/json"
    status, headers, raw = request(live.port, method, path, body, content_type=ctype)
    assert status == expected, raw
    assert headers["content-type"] == "application/json"
    err = _json(raw)["error"]
    assert err["status"] == expected and message in err["message"], err
    assert b"Traceback" not in raw and b"root:" not in raw and b"import " not in raw
    _healthy(live.port)


def test_foreign_host_header_is_refused(live):
    """A page elsewhere that rebinds its name to 127.0.0.1 (DNS rebinding) gets nothing."""
    status, headers, raw = request(live.port, "GET", "/api/base", headers={"Host": "evil.example"})
    assert status == 400 and "hôte refusé" in _json(raw)["error"]["message"]
    assert request(live.port, "GET", "/api/health", headers={"Host": "localhost"})[0] == 200
    _healthy(live.port)


def test_ten_megabyte_body(live):
    """Read and dropped (never kept), answered 413 in JSON; then the server answers as before."""
    big = b'{"remove": [' + b'"x",' * (10 * 1024 * 1024 // 4) + b'"x"]}'
    t0 = time.perf_counter()
    status, headers, raw = request(live.port, "POST", "/api/scenario", big)
    ms = (time.perf_counter() - t0) * 1000
    assert status == 413 and "trop grosse" in _json(raw)["error"]["message"]
    _healthy(live.port)
    # the same without Content-Length (chunked), which the limit must catch while reading
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    conn.request("POST", "/api/scenario", body=iter([b" " * 65536] * 160), encode_chunked=True,
                 headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    r = conn.getresponse()
    assert r.status == 413 and "trop grosse" in json.loads(r.read())["error"]["message"]
    conn.close()
    _healthy(live.port)
    print(f"\n10 MB body refused in {ms:.0f} ms")


def test_endless_body_and_garbage_do_not_stop_the_server(live):
    """A body past what the server drains (40 MB declared) and bytes that are not HTTP: the
    connection ends, the server answers the next request."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
        s.sendall(b"POST /api/scenario HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 41943040\r\n\r\n")
        got = b""
        try:
            for _ in range(40 * 16):
                s.sendall(b" " * 65536)
        except OSError:  # the server answered and closed: expected
            pass
        try:
            got = s.recv(65536)
        except OSError:
            pass
        if got:  # when the answer came before the reset, it is the 413
            assert got.startswith(b"HTTP/1.1 413"), got[:80]
    _healthy(live.port)
    for junk in (b"\x00\x01\x02garbage\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
                 b"POST /api/scenario HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
            try:
                s.sendall(junk)
                head = s.recv(200)
            except OSError:
                head = b""
        assert head == b"" or head.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), head[:80]
        _healthy(live.port)


# ---------------------------------------------------------------------------------- load


def test_200_concurrent_what_ifs(planner, live):
    """200 what-if requests from 16 client threads, each checked against the model's answer."""
    m = planner.model
    codes = [str(c) for c in m.communes.ids[m.communes.placed]]
    rng = np.random.default_rng(14)
    sites = [str(s) for s in m.sites.ids[m.sites.placed]]
    bodies = []
    for i in range(20):
        body = {"add_communes": [str(c) for c in rng.choice(codes, size=1 + i % 3, replace=False)]}
        if i % 4 == 0:
            body["remove"] = [sites[i % len(sites)]]
        bodies.append(body)
    expected = []
    for b in bodies:  # the model's answers, computed beforehand in this process
        w = WhatIf(communes=tuple(b["add_communes"]), remove=tuple(b.get("remove", ())))
        expected.append(json.loads(dumps(planner.scenario(w))))

    def one(i):
        t0 = time.perf_counter()
        status, headers, raw = request(live.port, "POST", "/api/scenario", bodies[i % len(bodies)])
        wall = (time.perf_counter() - t0) * 1000
        ok = status == 200 and _json(raw) == expected[i % len(bodies)]
        return ok, wall, server_ms(headers) if status == 200 else float("nan")

    n, workers = 200, 16
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, range(n), timeout=300))
    total = time.perf_counter() - t0
    assert all(ok for ok, _, _ in results), f"{sum(not ok for ok, _, _ in results)} wrong answers"
    wall = [w for _, w, _ in results]
    srv = [s for _, _, s in results]
    report = {
        "requests": n, "client_threads": workers, "seconds": round(total, 2), "per_second": round(n / total, 1),
        "wall_ms": {"p50": round(percentile(wall, 50), 1), "p95": round(percentile(wall, 95), 1), "max": round(max(wall), 1)},
        "server_ms": {"p50": round(percentile(srv, 50), 1), "p95": round(percentile(srv, 95), 1), "max": round(max(srv), 1)},
    }
    # one client at a time, for the latency of one click with nobody else waiting
    alone = []
    for i in range(20):
        t0 = time.perf_counter()
        status, headers, raw = request(live.port, "POST", "/api/scenario", bodies[i])
        alone.append(((time.perf_counter() - t0) * 1000, server_ms(headers)))
    report["sequential_wall_ms"] = {"p50": round(percentile([a for a, _ in alone], 50), 1),
                                    "p95": round(percentile([a for a, _ in alone], 95), 1)}
    report["sequential_server_ms"] = {"p50": round(percentile([s for _, s in alone], 50), 1),
                                      "p95": round(percentile([s for _, s in alone], 95), 1)}
    report["cpu_count"] = os.cpu_count()
    record("serve-api-latency", report)
    print("\n200 concurrent what-ifs:", json.dumps(report))
    _healthy(live.port)


# ---------------------------------------------------------------------------------- the command


def test_serve_command_starts_on_loopback_and_stops(cache_dir, tmp_path):
    env = {**os.environ, "ACCESSIBILITY_CACHE_DIR": str(cache_dir), "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen([sys.executable, "-m", "accessibility.cli.main", "serve", "--port", "0", "--no-basemap"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Ready"):
                break
        ready = lines[-1] if lines else ""
        assert ready.startswith("Ready") and "127.0.0.1 only" in ready, "".join(lines) + p.stderr.read()
        port = int(ready.split("http://127.0.0.1:")[1].split("/")[0])
        _healthy(port)
        status, _, raw = request(port, "GET", "/api/base")
        assert status == 200 and _json(raw)["basemap"] is None
    finally:
        p.send_signal(signal.SIGINT)
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
    assert p.returncode == 0 and "Stopped." in out and "Traceback" not in err, (p.returncode, out, err)


def test_loopback_and_taken_port():
    from accessibility.cli.serve import bind_socket, is_loopback
    from accessibility.errors import InvalidParameterError

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.10", "example.org", "::"))
    s = bind_socket("127.0.0.1", 0)
    try:
        with pytest.raises(InvalidParameterError, match=r"cannot listen on 127.0.0.1:\d+ .*try --port"):
            bind_socket("127.0.0.1", s.getsockname()[1])
    finally:
        s.close()
