"""The tables of ``access compute --tier all --method both`` on the embedded data are the ones the
code wrote before the placement refactor (tests/data/golden/README.md says how they were made)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from accessibility.analyses.zones import compute_access
from accessibility.inputs.communes import load_communes
from accessibility.inputs.services import load_bpe, load_gammes

GOLDEN = Path(__file__).parent / "data" / "golden" / "compute-all-both"
#: Columns added since the golden files were made (each documented in docs/compute.md).
NEW_COLUMNS = {"summary": ["communes_population_unknown"]}
#: Text cells are now read without surrounding blanks: one label of the 2021 gamme table,
#: "Spécialiste en gynécologie ", had a trailing space.
STRIPPED = {"equipment_times": ["label"]}


@pytest.fixture(scope="module")
def result(embedded_graph):
    return compute_access(embedded_graph, load_communes(), load_bpe(), load_gammes(), methods=["mean", "pole"])


def _as_written(df: pd.DataFrame) -> pd.DataFrame:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return pd.read_csv(io.StringIO(buf.getvalue()), dtype=str, keep_default_na=False)


@pytest.mark.parametrize(
    "name, attr",
    [("access_times", "access"), ("equipment_times", "equipment_times"), ("summary", "summary"),
     ("poles", "poles"), ("unplaced_communes", "unplaced")],
)
def test_tables_equal_golden(result, name, attr):
    old = pd.read_csv(GOLDEN / f"{name}.csv.gz", dtype=str, keep_default_na=False)
    for c in STRIPPED.get(name, []):
        old[c] = old[c].str.strip()
    new = _as_written(getattr(result, attr))
    assert list(new.columns) == list(old.columns) + NEW_COLUMNS.get(name, [])
    assert len(new) == len(old)
    diff = (new[old.columns] != old).any(axis=1)
    assert not diff.any(), f"{int(diff.sum())} rows differ, first:\n{new[diff].head(3)}\n{old[diff].head(3)}"
