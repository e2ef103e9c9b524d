"""A hand-made valley where every time is known by hand (used by test_zones and test_cli_compute).

Nodes (lon, lat), all on the 44.0 parallel except H::

    H (6.00, 44.05)
    |  600 s
    A (6.00) --60 s-- B (6.01) --120 s-- C (6.02) --300 s-- D (6.03) --30 s-- I (6.04)

Roads are two-way. Communes sit exactly on nodes (no access leg): A, B, C, D in département
04, K at I in département 06 (a neighbour: it serves but is not analysed). Three more communes
of 04 cannot be placed: E has no centre, F is in Paris (outside the extract), G is 2.5 km from
any road inside the extract.

Gamme "proximite" (threshold 2 min in the tests): X001 (BPE type T1), X002 (T2a + T2b),
X003 (T3). A has T1 and T2b, C has T3, D has T1, K has T3. With a pôle share of 0.5 (2 of 3
equipments) the only pôle is A.

By hand, seconds to the nearest commune having each equipment:

=====  =====  =====  =====  ===========  ====================
       X001   X002   X003   mean (min)   pôle A (min)
=====  =====  =====  =====  ===========  ====================
A        0      0    180    1.0           0
B       60     60    120    1.333         1
C      180    180      0    2.0           3
D        0    480     30    2.833         8
=====  =====  =====  =====  ===========  ====================

Zone grise (> 2 min): mean D only (C is exactly 2: not above); pôle C and D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NODES = {"A": (6.00, 44.0), "B": (6.01, 44.0), "C": (6.02, 44.0), "D": (6.03, 44.0), "I": (6.04, 44.0), "H": (6.00, 44.05)}
ROADS = [("A", "B", 60.0), ("B", "C", 120.0), ("C", "D", 300.0), ("D", "I", 30.0), ("A", "H", 600.0)]

EXPECTED_S = {  # X001, X002, X003
    "04001": (0, 0, 180),
    "04002": (60, 60, 120),
    "04003": (180, 180, 0),
    "04004": (0, 480, 30),
}
EXPECTED_MEAN_MIN = {"04001": 1.0, "04002": 80 / 60, "04003": 2.0, "04004": 170 / 60}
EXPECTED_POLE_MIN = {"04001": 0.0, "04002": 1.0, "04003": 3.0, "04004": 8.0}
THRESHOLDS = {"proximite": 2.0, "intermediaire": 20.0, "superieure": 30.0}


def toy_graph():
    from accessibility.network.graph import graph_from_edges

    names = list(NODES)
    idx = {n: i for i, n in enumerate(names)}
    u, v, t = [], [], []
    for a, b, s in ROADS:
        u += [idx[a], idx[b]]
        v += [idx[b], idx[a]]
        t += [s, s]
    x = np.array([NODES[n][0] for n in names])
    y = np.array([NODES[n][1] for n in names])
    g, _ = graph_from_edges(np.array(u), np.array(v), np.array(t), x=x, y=y, contract=False)
    return g


def toy_communes() -> pd.DataFrame:
    rows = [
        ("04001", "Amont", "04", 1000, *NODES["A"]),
        ("04002", "Bas", "04", 200, *NODES["B"]),
        ("04003", "Col", "04", 300, *NODES["C"]),
        ("04004", "Digue", "04", 50, *NODES["D"]),
        ("04005", "Envers", "04", 10, np.nan, np.nan),
        ("04006", "Faraway", "04", 7, 2.35, 48.85),
        ("04007", "Glacier", "04", 5, 6.03, 44.04),
        ("06001", "Karst", "06", 99, *NODES["I"]),
    ]
    return pd.DataFrame(rows, columns=["code", "nom", "departement", "population", "lon", "lat"])


def toy_bpe() -> pd.DataFrame:
    rows = [("04001", "T1", 1.0), ("04001", "T2B", 2.0), ("04003", "T3", 1.0), ("04004", "T1", 1.0),
            ("06001", "T3", 1.0), ("04002", "T1", 0.0)]  # a zero count is not an equipment
    return pd.DataFrame(rows, columns=["code", "typequ", "nb_equip"])


def toy_gammes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "equipment": ["X001", "X002", "X003"],
            "tier": ["proximite"] * 3,
            "label": ["one", "two", "three"],
            "typequ": [("T1",), ("T2A", "T2B"), ("T3",)],
        }
    )
