"""The README's Python API example runs as written (so the documentation cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def test_python_api_example_runs(embedded_graph, monkeypatch):
    text = README.read_text(encoding="utf-8")
    code = re.search(r"## Python API\n+```python\n(.*?)```", text, re.S).group(1)
    import accessibility.network.graph as graph_module

    monkeypatch.setattr(graph_module, "load_graph", lambda *a, **k: embedded_graph)
    import accessibility

    monkeypatch.setattr(accessibility, "load_graph", lambda *a, **k: embedded_graph, raising=False)
    env: dict = {}
    exec(compile(code, "README.md", "exec"), env)
    assert env["m"].shape[1] == 2 and np.isfinite(env["m"]).all()
    assert len(env["df"]) == 4 and env["scenario"].totals.shape[0] == 2
    assert set(env["result"].summary["departement"]) == {"04", "05"}
