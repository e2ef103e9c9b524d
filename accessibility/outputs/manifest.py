"""The manifest of a run: what it read, with what, how long each stage took, what it warned.

Every command builds one :class:`Run`, the library functions fill it (and return it with their
result as ``result.manifest``), and the command writes it as ``run.json`` with its outputs
(:class:`accessibility._io.OutputDir`). A manifest holds:

- ``command`` and ``parameters``;
- ``inputs``: every input file with its role, resolved path (embedded files too), bytes, sha256,
  whether it is embedded data and its vintage when known;
- ``graph``: source file and its sha256, profile name and sha256, cache key, nodes and edges;
- ``engine`` and ``dependencies``: versions;
- ``warnings``: every warning logged by the package during the run;
- ``counts``: what was placed, left out, unmeasured;
- ``seconds``: wall-clock seconds per stage (``read``, ``place``, ``route``, ``tables``,
  ``write``, ``maps`` …).

The library only logs; the CLI prints.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Run", "DEPENDENCIES"]

log = logging.getLogger(__name__)

#: Distributions whose versions a manifest records.
DEPENDENCIES: tuple[str, ...] = (
    "numpy", "numba", "scipy", "pandas", "geopandas", "shapely", "pyproj", "pyogrio", "osmium",
    "matplotlib", "click", "rasterio",
)


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for d in DEPENDENCIES:
        try:
            out[d] = version(d)
        except PackageNotFoundError:
            out[d] = None
    return out


def _vintage_of(path: Path) -> str | None:
    """Vintage of a file listed in the ``datadir.json`` of its data directory (searched in the
    file's directory and the two above), from the source entry of its role."""
    rp = path.resolve()
    for d in (rp.parent, rp.parent.parent, rp.parent.parent.parent):
        idx = d / "datadir.json"
        if not idx.is_file():
            continue
        try:
            meta = json.loads(idx.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        files = meta.get("files", {}) if isinstance(meta, dict) else {}
        roles = [r for r, rel in files.items() if isinstance(rel, str) and (d / rel).resolve() == rp]
        for src in meta.get("sources", []) if roles else []:
            if isinstance(src, dict) and (src.get("role") in roles or src.get("name") in roles):
                return src.get("vintage")
        return None
    return None


class _Collector(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(level=logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad log call must not break a run
            msg = str(record.msg)
        if msg not in self.sink:
            self.sink.append(msg)


class Run:
    """The manifest of one run (see the module docstring).

    Parameters
    ----------
    command : str
        ``compute``, ``site`` …

    Examples
    --------
    >>> run = Run("compute")
    >>> with run.stage("read"):
    ...     pass
    >>> sorted(run.to_dict())[:3]
    ['command', 'counts', 'dependencies']
    """

    def __init__(self, command: str):
        self.command = command
        self.started = datetime.now(UTC)
        self.parameters: dict = {}
        self.inputs: list[dict] = []
        self.graph: dict | None = None
        self.warnings: list[str] = []
        self.counts: dict = {}
        self.seconds: dict[str, float] = {}
        self._t0 = time.perf_counter()

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage (seconds add up when a stage is entered again)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t0, 4)

    @contextlib.contextmanager
    def capture_warnings(self) -> Iterator[None]:
        """Record every warning the package logs while the block runs."""
        logger = logging.getLogger("accessibility")
        h = _Collector(self.warnings)
        logger.addHandler(h)
        try:
            yield
        finally:
            logger.removeHandler(h)

    def warn(self, message: str) -> None:
        """Log a warning and record it."""
        if message not in self.warnings:
            self.warnings.append(message)
        log.warning("%s", message)

    def add_input(self, role: str, path: str | os.PathLike | None, *, vintage: str | None = None) -> None:
        """Record an input file (resolved path, bytes, sha256, embedded or not, vintage)."""
        from accessibility._io import file_provenance
        from accessibility.settings import embedded_data_dir

        if path is None:
            return
        p = Path(path)
        if not p.is_file():
            return
        emb = embedded_data_dir().resolve()
        rp = p.resolve()
        entry = file_provenance(p, role, embedded=emb in rp.parents)
        entry["vintage"] = vintage if vintage is not None else _vintage_of(rp)
        self.inputs = [i for i in self.inputs if i["role"] != role] + [entry]

    def use_graph(self, graph) -> None:
        """Record the graph: source, its sha256, profile, cache key, size."""
        r = graph.report
        self.graph = {
            "source": r.source,
            "source_sha256": r.source_sha256 or None,
            "profile": r.profile or None,
            "profile_sha256": r.profile_sha256 or None,
            "cache_key": r.cache_key or None,
            "from_cache": bool(r.from_cache),
            "nodes": graph.n_nodes,
            "edges": graph.n_edges,
        }
        if r.source and Path(r.source).is_file():
            self.add_input("osm", r.source)

    def to_dict(self) -> dict:
        """The manifest as JSON-ready data."""
        from accessibility import __version__

        return {
            "command": self.command,
            "engine": {"name": "accessibility", "version": __version__},
            "dependencies": _versions(),
            "started": self.started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "parameters": self.parameters,
            "inputs": self.inputs,
            "graph": self.graph,
            "warnings": self.warnings,
            "counts": self.counts,
            "seconds": {**self.seconds, "total": round(time.perf_counter() - self._t0, 4)},
        }
