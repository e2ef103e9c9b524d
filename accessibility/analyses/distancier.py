"""Travel-time tables between sets of places — the commune distancier — streamed to Parquet.

``access matrix`` and :func:`write_matrix` give minutes and kilometres for every pair of an
origin set and a destination set (commune centres, or any point source of ``access site``), in
long format (``origin, destination, minutes, km``; unreachable pairs and places not placed are
null and counted), written as a partitioned Parquet dataset, one part per block of origins, so
memory stays flat whatever the number of pairs. ``--wide`` writes instead square float32 arrays
(``minutes.npy``, ``km.npy``, memory-mapped while written) with the row and column ids.

The matrix kernel is :mod:`accessibility.routing.matrix` (contraction hierarchies on the reduced
core by default, prepared once and cached beside the graph). A long run can be interrupted: the
parts already written stay in ``.NAME.resume-KEY`` beside ``--out`` and the same command started
again goes on from there (``--fresh`` starts over); ``--out`` appears only when every part is
written. :mod:`accessibility.analyses.distributed` runs the same parts on a Dask cluster.

The Python API returns the same as a DataFrame (:func:`matrix_frame`) or numpy arrays
(:func:`matrix_arrays`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from accessibility._io import DATASET_RUN_FILE, OutputDir
from accessibility.engine.places import Places
from accessibility.errors import InputFileError, InvalidParameterError
from accessibility.network.graph import Graph
from accessibility.outputs.manifest import Run

__all__ = ["MatrixPlan", "plan_matrix", "matrix_arrays", "matrix_frame", "write_matrix", "compute_part",
           "part_name", "DEFAULT_CHUNK_PAIRS", "PART_FORMAT"]

log = logging.getLogger(__name__)

#: Pairs per part (one block of origins): 2 M pairs is about 50 MB of buffers.
DEFAULT_CHUNK_PAIRS = 2_000_000
#: Bumped when the layout of the parts changes (part of the resume key).
PART_FORMAT = 1


def part_name(i: int) -> str:
    """File name of part ``i`` of a dataset."""
    return f"part-{i:05d}.parquet"


@dataclass
class MatrixPlan:
    """What a matrix run computes, decided once before any routing.

    Attributes
    ----------
    origins, destinations : Places
    strategy : str
        The strategy the kernel will use (``auto`` resolved).
    cutoff_s : float
        Seconds; larger times are null (``inf`` inside).
    rows_per_part : int
        Origins per part.
    key : str
        Hash of the inputs and options: the name of the resumable staging directory.
    """

    origins: Places
    destinations: Places
    strategy: str
    cutoff_s: float
    rows_per_part: int
    key: str
    query: object = field(default=None, repr=False)

    @property
    def n_parts(self) -> int:
        """Number of parts."""
        return max(1, -(-len(self.origins) // self.rows_per_part))

    def rows(self, i: int) -> np.ndarray:
        """Origin rows of part ``i``."""
        return np.arange(i * self.rows_per_part, min((i + 1) * self.rows_per_part, len(self.origins)))


def _key(graph: Graph, origins: Places, destinations: Places, strategy: str, cutoff: float, rows: int,
         wide: bool) -> str:
    h = hashlib.sha256(f"part={PART_FORMAT}|{graph.report.cache_key}|{graph.n_nodes}|{strategy}|{cutoff}|{rows}|{wide}"
                       .encode())
    for p in (origins, destinations):
        h.update("\x1f".join(p.ids).encode())
        h.update(np.ascontiguousarray(np.nan_to_num(p.lon)).tobytes())
        h.update(np.ascontiguousarray(np.nan_to_num(p.lat)).tobytes())
    return h.hexdigest()[:16]


def plan_matrix(graph: Graph, origins: Places, destinations: Places, *, strategy: str = "auto",
                max_minutes: float | None = None, chunk_pairs: int = DEFAULT_CHUNK_PAIRS, wide: bool = False) -> MatrixPlan:
    """Check the options and decide the strategy and the parts.

    Raises
    ------
    InvalidParameterError
        Places of the wrong type or of another graph, an unknown strategy, a bad limit or part size.
    NoServiceError
        No origin or no destination is placed.
    """
    from accessibility.errors import NoServiceError
    from accessibility.routing.matrix import STRATEGIES

    for what, p in (("origins", origins), ("destinations", destinations)):
        if not isinstance(p, Places):
            raise InvalidParameterError(f"{what} must be accessibility Places, got {type(p).__name__}")
        p.check_graph(graph)
        if p.n_placed == 0:
            raise NoServiceError(f"none of the {len(p):,} {what} can be placed on the road extract: nothing to measure")
    if strategy not in STRATEGIES:
        raise InvalidParameterError(f"unknown strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    if max_minutes is not None and not (isinstance(max_minutes, (int, float)) and 0 < max_minutes < np.inf):
        raise InvalidParameterError(f"max_minutes must be a positive number of minutes, got {max_minutes!r}")
    if isinstance(chunk_pairs, bool) or not isinstance(chunk_pairs, (int, np.integer)) or chunk_pairs < 1:
        raise InvalidParameterError(f"chunk_pairs must be an integer >= 1, got {chunk_pairs!r}")
    if strategy == "auto":  # the package's one rule (routing.matrix.choose_strategy)
        from accessibility.network.derived import has_saved_hierarchy
        from accessibility.routing.matrix import choose_strategy

        strategy = choose_strategy(len(origins), len(destinations), prepared=has_saved_hierarchy(graph))
    cutoff = np.inf if max_minutes is None else float(max_minutes) * 60.0
    rows = max(1, int(chunk_pairs) // max(len(destinations), 1))
    return MatrixPlan(origins, destinations, strategy, cutoff, rows, _key(graph, origins, destinations, strategy, cutoff,
                                                                          rows, wide))


def _query(graph: Graph, plan: MatrixPlan):
    """The destinations prepared once (buckets of the hierarchy, or targets of the searches)."""
    if plan.query is None:
        from accessibility.routing.matrix import MatrixQuery

        d = plan.destinations.snapped
        from accessibility.routing.ch import hierarchy

        ch = hierarchy(graph) if plan.strategy in ("ch", "phast") else None
        plan.query = MatrixQuery(graph, d.in_ptr, d.in_node, d.in_time_s, d.in_length_m, strategy=plan.strategy,
                                 hierarchy=ch, cutoff=plan.cutoff_s)
    return plan.query


def _block(graph: Graph, plan: MatrixPlan, rows: np.ndarray, *, metres: bool = True):
    """Seconds and metres from the origins ``rows`` to every destination (``inf``: none)."""
    from accessibility.routing.matrix import add_same_stretch

    o = plan.origins.snapped.take(rows)
    t, m = _query(graph, plan).rows(o.out_ptr, o.out_node, o.out_time_s, o.out_length_m, metres=metres)
    add_same_stretch(t, m, o, plan.destinations.snapped, plan.cutoff_s)
    return t, m


def matrix_arrays(graph: Graph, origins: Places, destinations: Places, *, strategy: str = "auto",
                  max_minutes: float | None = None, km: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Minutes (and kilometres) from every origin to every destination, float32, NaN when unreachable,
    beyond ``max_minutes`` or not placed.

    User level, unlabelled (rows: ``origins.ids``, columns: ``destinations.ids``); the labelled
    frame is :func:`matrix_frame` (long) or :func:`accessibility.engine.places.travel_time_matrix`
    (wide); seconds arrays: :func:`accessibility.engine.places.matrix_s`.

    Returns
    -------
    minutes : np.ndarray of float32, shape (len(origins), len(destinations))
    km : np.ndarray of float32 (same shape), or None
    """
    plan = plan_matrix(graph, origins, destinations, strategy=strategy, max_minutes=max_minutes)
    t, m = _block(graph, plan, np.arange(len(origins)), metres=km)
    mins = np.where(np.isfinite(t), t / 60.0, np.nan).astype(np.float32)
    kms = np.where(np.isfinite(t), m / 1000.0, np.nan).astype(np.float32) if km else None
    return mins, kms


def _long(plan: MatrixPlan, rows: np.ndarray, t: np.ndarray, m: np.ndarray):
    """The long table of a block: origin, destination, minutes, km (null when unreachable)."""
    import pyarrow as pa

    nd = len(plan.destinations)
    ok = np.isfinite(t).ravel()
    o_codes = np.repeat(np.asarray(rows, dtype=np.int32), nd)
    d_codes = np.tile(np.arange(nd, dtype=np.int32), len(rows))
    return pa.table({
        "origin": pa.DictionaryArray.from_arrays(o_codes, pa.array(plan.origins.ids.astype(str))),
        "destination": pa.DictionaryArray.from_arrays(d_codes, pa.array(plan.destinations.ids.astype(str))),
        "minutes": pa.array((t.ravel() / 60.0).astype(np.float32), mask=~ok),
        "km": pa.array((m.ravel() / 1000.0).astype(np.float32), mask=~ok),
    })


def matrix_frame(graph: Graph, origins: Places, destinations: Places, *, strategy: str = "auto",
                 max_minutes: float | None = None) -> pd.DataFrame:
    """The long table in memory: ``origin, destination, minutes, km`` (NA when unreachable).

    User level (minutes and km, labelled by place id), one row per pair, the same rows as the
    Parquet dataset of :func:`write_matrix`; the wide form is
    :func:`accessibility.engine.places.travel_time_matrix`.
    """
    plan = plan_matrix(graph, origins, destinations, strategy=strategy, max_minutes=max_minutes)
    rows = np.arange(len(origins))
    t, m = _block(graph, plan, rows)
    df = _long(plan, rows, t, m).to_pandas()
    df["origin"] = df["origin"].astype(str)
    df["destination"] = df["destination"].astype(str)
    return df


def compute_part(graph: Graph, plan: MatrixPlan, i: int, directory: Path, *, wide_arrays=None) -> dict:
    """Compute part ``i`` and write it atomically into ``directory`` (a Parquet file, or rows of the
    wide arrays and a ``.done`` marker). Returns its counts."""
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    rows = plan.rows(i)
    t, m = _block(graph, plan, rows)
    unreachable = int((~np.isfinite(t)).sum())
    if wide_arrays is not None:
        mins, kms = wide_arrays
        mins[rows] = np.where(np.isfinite(t), t / 60.0, np.nan)
        kms[rows] = np.where(np.isfinite(t), m / 1000.0, np.nan)
        mins.flush()
        kms.flush()
        (directory / f"part-{i:05d}.done").write_text(f"{unreachable}\n")
    else:
        final = directory / part_name(i)
        tmp = directory / f".{final.name}.{os.getpid()}.tmp"
        try:
            pq.write_table(_long(plan, rows, t, m), tmp, compression="zstd")
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
    return {"part": i, "pairs": int(t.size), "unreachable": unreachable, "seconds": time.perf_counter() - t0}


def _places_table(p: Places) -> pd.DataFrame:
    df = p.to_frame()
    return df[[p.id_column, p.name_column, "lon", "lat", "placed", "reason", "distance_m"]].rename(
        columns={p.id_column: "id", p.name_column: "name"})


def _done_parts(staging: Path, plan: MatrixPlan, wide: bool) -> set[int]:
    import pyarrow.parquet as pq

    done = set()
    for i in range(plan.n_parts):
        if wide:
            if (staging / f"part-{i:05d}.done").exists():
                done.add(i)
            continue
        f = staging / part_name(i)
        if f.exists():
            try:
                if pq.ParquetFile(f).metadata.num_rows == len(plan.rows(i)) * len(plan.destinations):
                    done.add(i)
                    continue
            except Exception:  # noqa: BLE001 - a damaged part is redone
                pass
            f.unlink()
    for tmp in staging.glob(".part-*.tmp"):
        tmp.unlink(missing_ok=True)
    return done


def write_matrix(
    graph: Graph,
    origins: Places,
    destinations: Places,
    out: str | os.PathLike,
    *,
    strategy: str = "auto",
    max_minutes: float | None = None,
    chunk_pairs: int = DEFAULT_CHUNK_PAIRS,
    wide: bool = False,
    fresh: bool = False,
    progress: bool | None = False,
    run: Run | None = None,
    executor=None,
) -> list[Path]:
    """Write the matrix of ``origins`` × ``destinations`` into the dataset directory ``out``.

    Parameters
    ----------
    out : path
        The dataset (a directory, e.g. ``matrix.parquet``, that ``pandas.read_parquet`` reads as
        one table): ``part-*.parquet`` (long format), or ``minutes.npy``/``km.npy`` with
        ``wide``; ``_origins.csv``, ``_destinations.csv`` (ids, names, placed, reason) and the
        manifest ``_run.json`` (names starting with ``_`` are skipped by Parquet readers).
    strategy, max_minutes, chunk_pairs, wide
        See :func:`plan_matrix`.
    fresh : bool
        Discard the parts an interrupted attempt of the same run left.
    executor : callable, optional
        ``executor(graph, plan, todo, staging, on_done)`` computes the parts ``todo`` (see
        :mod:`accessibility.analyses.distributed`); in this process when omitted.

    Returns
    -------
    list of Path
        The files of the dataset, ``run.json`` last.
    """
    from tqdm.auto import tqdm

    run = run if run is not None else Run("matrix")
    plan = plan_matrix(graph, origins, destinations, strategy=strategy, max_minutes=max_minutes,
                       chunk_pairs=chunk_pairs, wide=wide)
    run.parameters.update({"strategy": plan.strategy, "max_minutes": max_minutes, "rows_per_part": plan.rows_per_part,
                           "parts": plan.n_parts, "wide": wide})
    t0 = time.perf_counter()
    out_dir = OutputDir(out, resume_key=plan.key, manifest_name=DATASET_RUN_FILE)
    with out_dir as o:
        staging = o.staging
        if fresh:
            for f in staging.iterdir():
                if f.name != ".lock":
                    f.unlink()
        wide_arrays = _wide_arrays(staging, plan) if wide else None
        done = _done_parts(staging, plan, wide)
        if done:
            log.warning("going on from an interrupted run: %d of %d parts already written", len(done), plan.n_parts)
        todo = [i for i in range(plan.n_parts) if i not in done]
        stats = {"pairs": 0, "unreachable": 0}
        bar = tqdm(total=len(origins) * len(destinations), initial=sum(len(plan.rows(i)) for i in done) * len(destinations),
                   unit="pairs", unit_scale=True, disable=(None if progress is None else not progress), desc="pairs")

        def on_done(res: dict) -> None:
            stats["pairs"] += res["pairs"]
            stats["unreachable"] += res["unreachable"]
            bar.update(res["pairs"])

        with run.stage("route"):
            _query(graph, plan)
            if executor is None:
                for i in todo:
                    on_done(compute_part(graph, plan, i, staging, wide_arrays=wide_arrays))
            else:
                executor(graph, plan, todo, staging, on_done)
        bar.close()
        with run.stage("write"):
            unreachable = _count_unreachable(staging, plan, wide)
            _places_table(origins).to_csv(o.path("_origins.csv"), index=False, lineterminator="\n")
            _places_table(destinations).to_csv(o.path("_destinations.csv"), index=False, lineterminator="\n")
            if wide:
                for f in staging.glob("part-*.done"):
                    f.unlink()
        total = len(origins) * len(destinations)
        secs = time.perf_counter() - t0
        run.counts.update({
            "origins": len(origins), "origins_unplaced": len(origins) - origins.n_placed,
            "destinations": len(destinations), "destinations_unplaced": len(destinations) - destinations.n_placed,
            "pairs": total, "pairs_unreachable": unreachable, "pairs_computed_now": stats["pairs"],
            "parts": plan.n_parts, "parts_resumed": len(done),
            "pairs_per_second": round(stats["pairs"] / secs) if secs > 0 else None,
        })
        return o.commit(run.to_dict())


def _wide_arrays(staging: Path, plan: MatrixPlan):
    from numpy.lib.format import open_memmap

    shape = (len(plan.origins), len(plan.destinations))
    out = []
    for name in ("minutes.npy", "km.npy"):
        f = staging / name
        mode = "r+" if f.exists() else "w+"
        try:
            a = open_memmap(f, mode=mode, dtype=np.float32, shape=shape if mode == "w+" else None)
        except (ValueError, OSError):
            a = open_memmap(f, mode="w+", dtype=np.float32, shape=shape)
        if a.shape != shape:
            raise InputFileError(f"{str(f)!r} has the shape {a.shape}, not {shape}: start again with --fresh")
        if mode == "w+":
            a[:] = np.nan
        out.append(a)
    return tuple(out)


def _count_unreachable(staging: Path, plan: MatrixPlan, wide: bool) -> int:
    import pyarrow.parquet as pq

    if wide:
        return int(np.isnan(np.load(staging / "minutes.npy", mmap_mode="r")).sum())
    n = 0
    for i in range(plan.n_parts):
        md = pq.ParquetFile(staging / part_name(i)).metadata
        col = md.schema.to_arrow_schema().get_field_index("minutes")
        n += sum(md.row_group(r).column(col).statistics.null_count for r in range(md.num_row_groups))
    return n
