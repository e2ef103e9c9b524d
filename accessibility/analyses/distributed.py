"""Matrix parts on a Dask cluster (``dask.distributed``): send a small key, not the data.

``access matrix --scheduler ADDRESS`` (an existing cluster) or ``--workers N`` (a
``LocalCluster`` started for the run) sends one small task per part of the matrix: the task
carries a :class:`WorkerJob` (file paths, options, a key) and the part number. Each worker loads
the heavy state **once** and keeps it for every later task of the same job: the cached graph
and its contraction hierarchy, memory-mapped (shared by the workers of a machine, never pickled
per task), and the origins and destinations placed on it. Workers write their part straight into
the run's staging directory (atomically: a temporary file, then a rename), so the directory
beside ``--out`` and the graph cache must be visible to them (the same machine, or a shared file
system).

A failed task is retried (``retries``); a killed worker's parts are recomputed by the scheduler
on the others; a part already on disk is never recomputed, so a rerun of the same command only
computes what is missing. The dataset appears in ``--out`` only when every part is there.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from accessibility.errors import AccessibilityError, InvalidParameterError

__all__ = ["WorkerJob", "dask_executor", "connect"]

log = logging.getLogger(__name__)

#: Seconds to wait for a scheduler to answer.
CONNECT_TIMEOUT_S = 10.0
#: Times a failed part is tried again.
RETRIES = 2

_STATE: dict = {}
_STATE_LOCK = threading.Lock()


class SchedulerError(AccessibilityError, OSError):
    """The Dask scheduler cannot be reached, or the cluster cannot be started."""


@dataclass(frozen=True)
class WorkerJob:
    """Everything a worker needs to compute parts, small enough to send with every task.

    The places are re-read by each worker from ``places_file`` (written by the client into the
    staging directory) and placed on the graph the worker loaded.
    """

    key: str
    osm: str
    cache_dir: str | None
    profile: str | None
    places_file: str
    strategy: str
    cutoff_s: float
    rows_per_part: int
    max_distance_m: float
    wide: bool


def _state(job: WorkerJob):
    """The graph, hierarchy and plan of ``job`` in this worker process, loaded on first use."""
    with _STATE_LOCK:
        st = _STATE.get(job.key)
        if st is None:
            st = _STATE[job.key] = _load(job)
        return st


def _load(job: WorkerJob):
    import pandas as pd

    from accessibility.analyses.distancier import MatrixPlan, _query
    from accessibility.engine.places import PlaceOptions, Places
    from accessibility.network.graph import load_graph

    g = load_graph(job.osm, cache_dir=job.cache_dir, profile=job.profile, mmap=True)
    if job.strategy in ("ch", "phast"):
        from accessibility.routing.ch import hierarchy

        hierarchy(g)
    t = pd.read_parquet(job.places_file)
    parts = {}
    for side in ("origin", "destination"):
        s = t[t["side"] == side]
        parts[side] = Places.from_arrays(g, s["id"].to_numpy(object), s["lon"].to_numpy(float),
                                         s["lat"].to_numpy(float), names=s["name"].to_numpy(object),
                                         options=PlaceOptions(max_distance_m=job.max_distance_m))
    plan = MatrixPlan(parts["origin"], parts["destination"], job.strategy, job.cutoff_s, job.rows_per_part, job.key)
    _query(g, plan)
    return g, plan


def _run_part(job: WorkerJob, i: int, staging: str) -> dict:
    from accessibility.analyses.distancier import _wide_arrays, compute_part

    g, plan = _state(job)
    wide = _wide_arrays(Path(staging), plan) if job.wide else None
    _inject_fault(i)
    return compute_part(g, plan, i, Path(staging), wide_arrays=wide)


def _inject_fault(i: int) -> None:
    """Fault injection for the tests, once per part: ``ACCESSIBILITY_TEST_FAULTS="raise:1,kill:2"``.

    ``raise:I`` makes part ``I`` raise the first time it runs (Dask retries it); ``kill:I`` makes
    the worker process running part ``I`` die the first time (the nanny restarts it, the scheduler
    gives the part to a worker again). A marker file ``failed-HOW-I`` in the directory
    ``ACCESSIBILITY_TEST_FAULTS_DIR`` remembers the first time and tells the test it happened.
    """
    spec = os.environ.get("ACCESSIBILITY_TEST_FAULTS")
    if not spec:
        return
    for item in spec.split(","):
        how, _, part = item.partition(":")
        marker = Path(os.environ["ACCESSIBILITY_TEST_FAULTS_DIR"]) / f"failed-{how}-{part}"
        if part == str(i) and not marker.exists():
            marker.write_text("once")
            if how == "kill":
                os._exit(1)
            raise RuntimeError(f"injected failure of part {i}")


def connect(*, scheduler: str | None = None, workers: int | None = None):
    """A Dask client: to ``scheduler`` (an address), or to a new local cluster of ``workers``.

    Raises
    ------
    SchedulerError
        The scheduler does not answer within :data:`CONNECT_TIMEOUT_S`, or the cluster cannot start.
    InvalidParameterError
        Both or neither given, or a bad number of workers.
    """
    if (scheduler is None) == (workers is None):
        raise InvalidParameterError("give either a scheduler address or a number of workers")
    if logging.getLogger().level > logging.INFO:
        for name in ("distributed", "tornado"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InvalidParameterError("distributed runs need dask.distributed: pip install 'distributed'") from None
    if scheduler is not None:
        try:
            return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler!r} within {CONNECT_TIMEOUT_S:g} s: "
                                 f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidParameterError(f"workers must be an integer >= 1, got {workers!r}")
    try:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    except Exception as exc:  # noqa: BLE001 - a cluster that cannot start is reported in one line
        raise SchedulerError(f"cannot start a local Dask cluster of {workers} workers: {exc}") from None
    client = Client(cluster)
    client._accessibility_cluster = cluster  # closed with the client
    return client


def dask_executor(client, *, osm, cache_dir, profile, max_distance_m: float):
    """An executor for :func:`accessibility.analyses.distancier.write_matrix` that runs the parts on ``client``."""

    def execute(graph, plan, todo, staging: Path, on_done) -> None:
        import pandas as pd
        from distributed import as_completed

        pf = staging / "places.parquet"
        rows = []
        for side, p in (("origin", plan.origins), ("destination", plan.destinations)):
            rows.append(pd.DataFrame({"side": side, "id": p.ids.astype(str), "name": p.names.astype(str),
                                      "lon": p.lon, "lat": p.lat}))
        pd.concat(rows, ignore_index=True).to_parquet(pf)
        job = WorkerJob(key=plan.key, osm=str(osm), cache_dir=None if cache_dir is None else str(cache_dir),
                        profile=None if profile is None else str(profile), places_file=str(pf),
                        strategy=plan.strategy, cutoff_s=plan.cutoff_s, rows_per_part=plan.rows_per_part,
                        max_distance_m=max_distance_m, wide=False)
        futures = [client.submit(_run_part, job, i, str(staging), retries=RETRIES, pure=False, key=f"{plan.key}-{i}")
                   for i in todo]
        try:
            for fut in as_completed(futures):
                on_done(fut.result())
        finally:
            for f in futures:
                f.cancel()
            pf.unlink(missing_ok=True)

    return execute
