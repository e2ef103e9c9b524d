"""OSM reader: tags to directions and speeds, maxspeed forms, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from accessibility.errors import InputFileError, NoDrivableRoadError, OSMFileError
from accessibility.inputs.osm import haversine_m, parse_maxspeed, read_osm_edges
from accessibility.settings import load_profile

from .conftest import write_pbf

PROFILE = load_profile()


@pytest.mark.parametrize(
    "value, expected",
    [
        ("50", 50.0),
        ("50 km/h", 50.0),
        ("50km/h", 50.0),
        ("50 mph", 50 * 1.609344),
        ("FR:urban", 50.0),
        ("FR:rural", 80.0),
        ("fr:motorway", 130.0),
        ("none", 140.0),
        ("walk", 10.0),
        ("50;70", 50.0),
        ("90|70", 70.0),
        ("signals", None),
        ("", None),
        (None, None),
        ("0", None),
    ],
)
def test_parse_maxspeed(value, expected):
    got = parse_maxspeed(value, PROFILE)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def _line(n: int, lon0: float = 6.0, lat0: float = 44.0, step: float = 0.001):
    return {i + 1: (lon0 + i * step, lat0) for i in range(n)}


@pytest.fixture
def tagged_pbf(tmp_path):
    nodes = _line(14)
    ways = [
        (10, [1, 2], {"highway": "residential", "oneway": "yes"}),
        (11, [2, 3], {"highway": "residential", "oneway": "-1"}),
        (12, [3, 4], {"highway": "residential"}),
        (13, [4, 5], {"highway": "motorway"}),
        (14, [5, 6], {"highway": "primary", "junction": "roundabout"}),
        (15, [6, 7], {"highway": "residential", "access": "private"}),
        (16, [7, 8], {"highway": "track"}),
        (17, [8, 9], {"highway": "footway"}),
        (18, [9, 10], {"highway": "residential", "motor_vehicle": "no"}),
        (19, [10, 11], {"highway": "residential", "access": "no", "motor_vehicle": "yes"}),
        (20, [11, 12], {"highway": "primary", "maxspeed": "50 mph"}),
        (21, [12, 13], {"highway": "secondary", "maxspeed": "FR:rural", "oneway": "reversible"}),
        (22, [13, 14], {"highway": "motorway", "oneway": "no", "maxspeed": "none"}),
    ]
    return write_pbf(tmp_path / "tagged.osm.pbf", nodes, ways), nodes


def _edges_by_osm_node(table, nodes):
    """{(osm_u, osm_v): speed_kmh} from an EdgeTable, matching nodes by coordinates."""
    by_xy = {(round(lon, 7), round(lat, 7)): nid for nid, (lon, lat) in nodes.items()}
    idx_to_osm = {i: by_xy[(round(x, 7), round(y, 7))] for i, (x, y) in enumerate(zip(table.x, table.y))}
    return {
        (idx_to_osm[int(a)], idx_to_osm[int(b)]): ln / t * 3.6
        for a, b, ln, t in zip(table.u, table.v, table.length_m, table.time_s)
    }


def test_directions_access_and_speeds(tagged_pbf):
    path, nodes = tagged_pbf
    table = read_osm_edges(path)
    e = _edges_by_osm_node(table, nodes)
    # oneway=yes: along the drawing only; oneway=-1: against it only
    assert (1, 2) in e and (2, 1) not in e
    assert (3, 2) in e and (2, 3) not in e
    # two-way residential, at the class speed
    assert e[(3, 4)] == pytest.approx(25.0) and e[(4, 3)] == pytest.approx(25.0)
    # motorway implied one-way; roundabout one-way
    assert (4, 5) in e and (5, 4) not in e
    assert (5, 6) in e and (6, 5) not in e
    # access=private, track, footway, motor_vehicle=no: not drivable
    for a, b in [(6, 7), (7, 8), (8, 9), (9, 10)]:
        assert (a, b) not in e and (b, a) not in e
    # the most specific access tag decides
    assert (10, 11) in e and (11, 10) in e
    # maxspeed x 0.8 (OSRM speed_reduction)
    assert e[(11, 12)] == pytest.approx(50 * 1.609344 * 0.8)
    assert e[(12, 13)] == pytest.approx(80 * 0.8) and (13, 12) not in e
    assert e[(13, 14)] == pytest.approx(140 * 0.8) and (14, 13) in e
    assert table.n_ways_excluded == 2


def test_lengths_are_great_circle(tagged_pbf):
    path, nodes = tagged_pbf
    table = read_osm_edges(path)
    expected = haversine_m(6.0, 44.0, 6.001, 44.0)
    assert expected == pytest.approx(80.0, rel=0.01)  # 0.001 deg of longitude at 44 N
    np.testing.assert_allclose(table.length_m, expected, rtol=1e-6)


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        read_osm_edges(tmp_path / "nope.osm.pbf")


def test_not_a_pbf(tmp_path):
    p = tmp_path / "roads.osm.pbf"
    p.write_text("<osm version='0.6'></osm>")
    with pytest.raises(OSMFileError, match="not an OSM PBF"):
        read_osm_edges(p)


def test_truncated_pbf(tmp_path):
    from accessibility.network.graph import default_osm_path

    data = default_osm_path().read_bytes()
    p = tmp_path / "cut.osm.pbf"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(OSMFileError, match="truncated or corrupt"):
        read_osm_edges(p)


def test_no_drivable_road(tmp_path):
    p = write_pbf(tmp_path / "paths.osm.pbf", _line(3), [(1, [1, 2, 3], {"highway": "footway"})])
    with pytest.raises(NoDrivableRoadError, match="no drivable road"):
        read_osm_edges(p)


def test_profile_with_tracks(tmp_path):
    import shutil

    from accessibility.settings import DEFAULT_PROFILE_PATH

    prof_path = tmp_path / "car-tracks.toml"
    shutil.copy(DEFAULT_PROFILE_PATH, prof_path)
    prof_path.write_text(prof_path.read_text().replace("include_tracks = false", "include_tracks = true"))
    prof = load_profile(prof_path)
    p = write_pbf(tmp_path / "t.osm.pbf", _line(2), [(1, [1, 2], {"highway": "track"})])
    table = read_osm_edges(p, profile=prof)
    assert len(table.u) == 2
    np.testing.assert_allclose(table.length_m / table.time_s * 3.6, 5.0)
