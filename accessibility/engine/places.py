"""Places put on the graph: communes, point services, candidate sites — placed once, for every command.

A :class:`Places` is a table of places (ids, names, lon/lat, population when there is one, extra
columns) together with where each one sits on the road graph (:class:`~accessibility.routing.snap.Snapped`
anchors) and, for each place that could not be placed, **why**:

- ``no centre``: the place has no coordinates;
- ``outside the road extract``: its coordinates are outside the graph's extent;
- ``too far from any road``: farther than the snapping limit from every road vertex;
- ``unreachable``: placed, but a service it needs cannot be reached (set by the step that found
  out, with :meth:`Places.mark`).

Subsets and unions never snap again. Routing between places (:func:`nearest`, :func:`matrix`)
takes places, never raw node ids: places not placed get ``inf``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from accessibility.errors import InvalidParameterError
from accessibility.network.graph import Graph
from accessibility.routing.dijkstra import check_graph_arg
from accessibility.routing.snap import Snapped, snap_points
from accessibility.settings import CONNECTOR_SPEED_KMH, SNAP_MAX_DISTANCE_M

__all__ = [
    "Places",
    "NO_CENTRE",
    "OUTSIDE",
    "TOO_FAR",
    "UNREACHABLE",
    "REASONS",
    "PlaceOptions",
    "nearest_s",
    "matrix_s",
    "travel_time_matrix",
    "nearest",
    "matrix",
]

NO_CENTRE = "no centre"
OUTSIDE = "outside the road extract"
TOO_FAR = "too far from any road"
UNREACHABLE = "unreachable"
#: Every reason a place may not be placed, in the order they are decided.
REASONS: tuple[str, ...] = (NO_CENTRE, OUTSIDE, TOO_FAR, UNREACHABLE)


def _fingerprint(graph: Graph) -> tuple:
    return (graph.report.cache_key, graph.n_nodes, graph.n_edges, graph.n_vertices, id(graph.indptr))


def _str_array(values, what: str) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=object)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{what} must be a sequence of strings, got {values!r:.80}") from None
    if a.ndim != 1:
        raise InvalidParameterError(f"{what} must be 1-d, got shape {a.shape}")
    return np.array(["" if v is None else str(v) for v in a], dtype=object)


def _float_array(values, n: int, what: str) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{what} must be numbers, got {values!r:.80}") from None
    if a.shape != (n,):
        raise InvalidParameterError(f"{what} must have {n} values, got shape {a.shape}")
    return a


@dataclass(frozen=True)
class PlaceOptions:
    """How places are labelled and snapped (keyword-only options of :meth:`Places.from_arrays`).

    Attributes
    ----------
    kind : str
        What the places are (``commune``, ``site`` …), for messages.
    id_column, name_column : str
        Column names of the ids and names in tables.
    max_distance_m : float
        Places farther (metres) from any road vertex are not placed (``too far from any road``).
    connector_speed_kmh : float
        Speed of the straight access leg (km/h).
    """

    kind: str = "place"
    id_column: str = "id"
    name_column: str = "name"
    max_distance_m: float = SNAP_MAX_DISTANCE_M
    connector_speed_kmh: float = CONNECTOR_SPEED_KMH


@dataclass(frozen=True, eq=False)
class Places:
    """Places put on a graph, with the reason for each one that could not be placed.

    Attributes
    ----------
    ids : np.ndarray of str
        Unique ids (commune codes, site ids).
    names : np.ndarray of str
    lon, lat : np.ndarray of float64
        WGS84 coordinates (NaN when the place has none).
    population : np.ndarray of float64
        Inhabitants, NaN when unknown.
    snapped : Snapped
        Where each place sits on the graph; places not placed have no anchor.
    reason : np.ndarray of str
        ``""`` for a placed place, else one of :data:`REASONS`.
    attrs : Mapping[str, np.ndarray]
        Extra columns (``departement``, ``format_fs`` …), one value per place.
    kind : str
        What the places are (``commune``, ``site`` …), for messages.
    id_column, name_column : str
        Column names of the ids and names in tables (``code``/``nom`` for communes).
    """

    ids: np.ndarray
    names: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    population: np.ndarray
    snapped: Snapped
    reason: np.ndarray
    attrs: Mapping[str, np.ndarray] = field(default_factory=dict)
    kind: str = "place"
    id_column: str = "id"
    name_column: str = "name"
    graph_fingerprint: tuple = field(default=(), repr=False)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_arrays(
        cls,
        graph: Graph,
        ids,
        lon,
        lat,
        *,
        names=None,
        population=None,
        attrs: Mapping[str, Sequence] | None = None,
        options: PlaceOptions | None = None,
    ) -> Places:
        """Place points on ``graph``.

        Parameters
        ----------
        graph : Graph
        ids : sequence of str
            Unique ids.
        lon, lat : array-like of float
            WGS84 degrees; NaN for a place without coordinates (reason ``no centre``).
        names : sequence of str, optional
            Names; the ids when omitted.
        population : array-like of float, optional
            Inhabitants (NaN unknown); must be >= 0.
        attrs : mapping of column -> values, optional
            Extra columns kept with the places.
        options : PlaceOptions, optional
            Labels (``kind``, ``id_column``, ``name_column``) and snapping (``max_distance_m``,
            ``connector_speed_kmh``); the defaults of :class:`PlaceOptions` when omitted.

        Returns
        -------
        Places

        Raises
        ------
        InvalidParameterError
            Lengths differ, ids are empty or repeated, coordinates out of range, a negative
            population, or a bad distance or speed.
        """
        check_graph_arg(graph)
        opt = options or PlaceOptions()
        ids = _str_array(ids, "ids")
        n = len(ids)
        lon = _float_array(lon, n, "lon")
        lat = _float_array(lat, n, "lat")
        names = ids.copy() if names is None else _str_array(names, "names")
        if len(names) != n:
            raise InvalidParameterError(f"names must have {n} values, got {len(names)}")
        pop = _checked_population(_float_array(population, n, "population"), ids, opt.kind)
        _check_ids(ids, opt.kind)
        snapped, reason = _place(graph, ids, lon, lat, opt)
        return cls(
            ids=ids, names=names, lon=lon, lat=lat, population=pop, snapped=snapped, reason=reason,
            attrs=_checked_attrs(attrs, n), kind=opt.kind, id_column=opt.id_column,
            name_column=opt.name_column, graph_fingerprint=_fingerprint(graph),
        )

    @classmethod
    def from_communes(
        cls,
        graph: Graph,
        communes,
        *,
        max_distance_m: float = SNAP_MAX_DISTANCE_M,
        connector_speed_kmh: float = CONNECTOR_SPEED_KMH,
    ) -> Places:
        """Place the communes of a commune table (:func:`accessibility.inputs.communes.load_communes`).

        Ids are the commune codes, names the ``nom`` column, and ``departement`` is kept as an
        attribute. Communes with no centre, or outside the graph's extent, are kept, not placed,
        with their reason.
        """
        miss = [c for c in ("code", "nom", "departement", "population", "lon", "lat") if c not in communes]
        if miss:
            from accessibility.errors import DataFormatError

            raise DataFormatError(f"commune table lacks column(s) {', '.join(miss)}")
        pop = communes["population"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        return cls.from_arrays(
            graph, communes["code"].to_numpy(object), communes["lon"].to_numpy(float),
            communes["lat"].to_numpy(float), names=communes["nom"].to_numpy(object), population=pop,
            attrs={"departement": communes["departement"].to_numpy(object)},
            options=PlaceOptions(kind="commune", id_column="code", name_column="nom",
                                 max_distance_m=max_distance_m, connector_speed_kmh=connector_speed_kmh),
        )

    @classmethod
    def from_frame(
        cls,
        graph: Graph,
        frame,
        *,
        columns: Mapping[str, str | None] | None = None,
        attrs: Sequence[str] = (),
        options: PlaceOptions | None = None,
    ) -> Places:
        """Place the rows of a table (pandas or GeoPandas points in WGS84) on ``graph``.

        Parameters
        ----------
        graph : Graph
        frame : pandas.DataFrame or geopandas.GeoDataFrame
        columns : mapping, optional
            Column of each role, by role: ``id`` (default ``"id"``), ``name`` (``"name"``; None:
            no names), ``lon``, ``lat`` (``"lon"``, ``"lat"``) and ``population`` (None). A
            GeoDataFrame's point geometry is used when the ``lon`` column is absent (it must be
            in EPSG:4326, or have a CRS to convert from).
        attrs : sequence of str
            Extra columns to keep.
        options : PlaceOptions, optional
            As :meth:`from_arrays`; ``kind`` defaults to ``"site"`` here.

        Raises
        ------
        InvalidParameterError
            A missing column, a GeoDataFrame without CRS, or what :meth:`from_arrays` raises.
        """
        col = {"id": "id", "name": "name", "lon": "lon", "lat": "lat", "population": None, **(columns or {})}
        unknown = set(col) - {"id", "name", "lon", "lat", "population"}
        if unknown:
            raise InvalidParameterError(f"unknown column role(s) {', '.join(sorted(unknown))}: "
                                        "roles are id, name, lon, lat, population")
        cols = list(frame.columns)
        lon, lat = col["lon"], col["lat"]
        if lon not in cols and hasattr(frame, "geometry"):
            if frame.crs is None:
                raise InvalidParameterError("the GeoDataFrame has no CRS: cannot place its points")
            g = frame.to_crs("EPSG:4326")
            lonv, latv = g.geometry.x.to_numpy(float), g.geometry.y.to_numpy(float)
        else:
            for c in (col["id"], lon, lat):
                if c not in cols:
                    raise InvalidParameterError(f"the table has no column {c!r}; its columns are {', '.join(map(str, cols))}")
            lonv = frame[lon].to_numpy(float)
            latv = frame[lat].to_numpy(float)
        name = col["name"]
        names = frame[name].to_numpy(object) if name and name in cols else None
        pop = frame[col["population"]].to_numpy(float) if col["population"] else None
        opt = options or PlaceOptions(kind="site")
        from dataclasses import replace

        return cls.from_arrays(
            graph, frame[col["id"]].to_numpy(object), lonv, latv, names=names, population=pop,
            attrs={c: frame[c].to_numpy(object) for c in attrs},
            options=replace(opt, id_column=str(col["id"]), name_column="name"),
        )

    # ---------------------------------------------------------------- views
    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"Places({self.kind}: {len(self):,}, placed {self.n_placed:,})"

    @property
    def placed(self) -> np.ndarray:
        """Mask of the places put on the graph."""
        return self.reason == ""

    @property
    def n_placed(self) -> int:
        """Number of places put on the graph."""
        return int(np.count_nonzero(self.placed))

    @property
    def distance_m(self) -> np.ndarray:
        """Distance from each place to the nearest road vertex (metres; NaN when not measured)."""
        return self.snapped.distance_m

    def row_of(self, ids, *, missing: str = "raise") -> np.ndarray:
        """Rows of ``ids`` (int64); with ``missing="ignore"``, -1 for unknown ids.

        Raises
        ------
        InvalidParameterError
            An unknown id (with ``missing="raise"``).
        """
        import pandas as pd

        want = _str_array(np.atleast_1d(np.asarray(ids, dtype=object)), "ids")
        rows = pd.Index(self.ids).get_indexer(want).astype(np.int64)
        if missing == "raise" and (rows < 0).any():
            bad = want[rows < 0][0]
            raise InvalidParameterError(f"unknown {self.kind} id {bad!r} ({len(self):,} {self.kind}s known)")
        return rows

    def take(self, rows) -> Places:
        """The places of ``rows`` (positions or a boolean mask), in that order, without snapping."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (len(self),):
                raise InvalidParameterError(f"mask must have {len(self)} values, got {rows.shape}")
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= len(self)):
            raise InvalidParameterError(f"row {int(rows[(rows < 0) | (rows >= len(self))][0])} is not in [0, {len(self)})")
        from dataclasses import replace

        return replace(
            self, ids=self.ids[rows], names=self.names[rows], lon=self.lon[rows], lat=self.lat[rows],
            population=self.population[rows], snapped=self.snapped.take(rows), reason=self.reason[rows],
            attrs={k: v[rows] for k, v in self.attrs.items()},
        )

    def placed_only(self) -> Places:
        """The places put on the graph."""
        return self.take(self.placed)

    def mark(self, rows, reason: str) -> Places:
        """The same places, ``rows`` (positions or mask) no longer placed, for ``reason``."""
        if reason not in REASONS:
            raise InvalidParameterError(f"unknown reason {reason!r}; reasons are {', '.join(REASONS)}")
        mask = np.zeros(len(self), dtype=bool)
        rows = np.asarray(rows)
        mask[rows if rows.dtype != bool else np.flatnonzero(rows)] = True
        mask &= self.placed
        if not mask.any():
            return self
        from dataclasses import replace

        r = self.reason.copy()
        r[mask] = reason
        return replace(self, reason=r, snapped=self.snapped.drop(mask))

    def union(self, *others: Places) -> Places:
        """These places followed by ``others`` (same graph; ids must stay unique)."""
        parts = [self, *others]
        for p in others:
            if p.graph_fingerprint != self.graph_fingerprint:
                raise InvalidParameterError("cannot join places put on different graphs")
        ids = np.concatenate([p.ids for p in parts])
        _check_unique(ids, self.kind)
        keys = set(self.attrs).intersection(*(p.attrs for p in others)) if others else set(self.attrs)
        from dataclasses import replace

        return replace(
            self, ids=ids, names=np.concatenate([p.names for p in parts]),
            lon=np.concatenate([p.lon for p in parts]), lat=np.concatenate([p.lat for p in parts]),
            population=np.concatenate([p.population for p in parts]),
            snapped=Snapped.concat([p.snapped for p in parts]),
            reason=np.concatenate([p.reason for p in parts]),
            attrs={k: np.concatenate([np.asarray(p.attrs[k], dtype=object) for p in parts]) for k in sorted(keys)},
        )

    def check_graph(self, graph: Graph) -> None:
        """Raise :class:`InvalidParameterError` unless these places were put on ``graph``."""
        if self.graph_fingerprint and self.graph_fingerprint != _fingerprint(graph):
            raise InvalidParameterError(
                f"these {self.kind}s were placed on another graph: place them again on this one"
            )

    # ---------------------------------------------------------------- tables
    def to_frame(self):
        """One row per place: id, name, population, attributes, lon, lat, placed, reason, distance_m."""
        import pandas as pd

        df = pd.DataFrame({self.id_column: self.ids, self.name_column: self.names})
        for k, v in self.attrs.items():
            df[k] = v
        df["population"] = pd.array(np.where(np.isnan(self.population), np.nan, np.round(self.population)), dtype="Int64") \
            if np.all(np.isnan(self.population) | (self.population == np.round(self.population))) else self.population
        df["lon"] = self.lon
        df["lat"] = self.lat
        df["placed"] = self.placed
        df["reason"] = self.reason
        df["distance_m"] = np.round(self.distance_m, 1)
        return df

    def unplaced(self):
        """The places not placed: id, name, attributes, population, reason, distance_m (metres
        to the nearest road, rounded to 0.1; empty when not measured). What
        ``unplaced_communes.csv`` holds."""
        df = self.to_frame()
        pop = ["population"] if self.kind == "commune" or np.isfinite(self.population).any() else []
        cols = [self.id_column, self.name_column, *self.attrs, *pop, "reason", "distance_m"]
        return df.loc[~self.placed, cols].reset_index(drop=True)


def _checked_population(pop: np.ndarray, ids: np.ndarray, kind: str) -> np.ndarray:
    if np.any(pop < 0) or np.any(np.isinf(pop)):
        i = int(np.flatnonzero((pop < 0) | np.isinf(pop))[0])
        raise InvalidParameterError(f"population of {kind} {ids[i]} is {pop[i]!r}: it must be a number >= 0")
    return pop


def _check_ids(ids: np.ndarray, kind: str) -> None:
    empty = ids == ""
    if empty.any():
        raise InvalidParameterError(f"{kind} at position {int(np.flatnonzero(empty)[0])} has an empty id")
    _check_unique(ids, kind)


def _checked_attrs(attrs, n: int) -> dict[str, np.ndarray]:
    out = {}
    for k, v in (attrs or {}).items():
        a = np.asarray(v, dtype=object) if not isinstance(v, np.ndarray) else v
        if len(a) != n:
            raise InvalidParameterError(f"attribute {k!r} must have {n} values, got {len(a)}")
        out[str(k)] = a
    return out


def _place(graph: Graph, ids: np.ndarray, lon: np.ndarray, lat: np.ndarray, opt: PlaceOptions
           ) -> tuple[Snapped, np.ndarray]:
    """Snap the places that have coordinates inside the extent; the reason of every other one."""
    from dataclasses import replace

    n = len(ids)
    has = np.isfinite(lon) & np.isfinite(lat)
    bad = has & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError(f"{opt.kind} {ids[i]} has lon={lon[i]!r}, lat={lat[i]!r}: not WGS84 degrees")
    inside = has & _inside_extent(graph, lon, lat, opt.max_distance_m)
    cand = np.flatnonzero(inside)
    s = snap_points(graph, lon[cand], lat[cand], max_distance_m=opt.max_distance_m,
                    connector_speed_kmh=opt.connector_speed_kmh)
    pos = np.full(n, -1, dtype=np.int64)
    pos[cand] = np.arange(len(cand))
    full = s.take(pos)
    reason = np.full(n, "", dtype=object)
    reason[~has] = NO_CENTRE
    reason[has & ~inside] = OUTSIDE
    reason[inside & ~full.ok] = TOO_FAR
    full = full.drop(reason != "")
    # keep the measured distance of places too far from a road (reported), NaN otherwise
    dist = np.full(n, np.nan)
    dist[cand] = s.distance_m
    return replace(full, lon=lon.copy(), lat=lat.copy(), distance_m=dist), reason


def _check_unique(ids: np.ndarray, kind: str) -> None:
    import pandas as pd

    dup = pd.Index(ids).duplicated()
    if dup.any():
        raise InvalidParameterError(f"{kind} id {ids[dup][0]!r} appears more than once; ids must be unique")


def _inside_extent(graph: Graph, lon: np.ndarray, lat: np.ndarray, max_distance_m: float) -> np.ndarray:
    """Points inside the bounding box of the graph's vertices, widened by the snapping limit."""
    from accessibility.network.derived import extent

    ext = extent(graph)
    x0, x1, y0, y1 = ext
    pad_lat = max_distance_m / 111_000.0 + 1e-6
    pad_lon = pad_lat / max(np.cos(np.radians(max(abs(y0), abs(y1)))), 0.1)
    with np.errstate(invalid="ignore"):
        return (lon >= x0 - pad_lon) & (lon <= x1 + pad_lon) & (lat >= y0 - pad_lat) & (lat <= y1 + pad_lat)


def _checked(graph: Graph, places, what: str) -> Snapped:
    from accessibility.routing.points import as_snapped

    if isinstance(places, Places):
        places.check_graph(graph)
    return as_snapped(places, what)


def nearest_s(graph: Graph, origins: Places, targets: Places, *, cutoff_s: float | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """For every origin, the time (seconds) to the nearest target and that target's row (one search).

    Core level: arrays in seconds. The user level in minutes, labelled, is
    :func:`travel_time_matrix`.

    Parameters
    ----------
    graph : Graph
    origins, targets : Places
        Put on ``graph``; places not placed are ignored (origins get ``inf``).
    cutoff_s : float, optional
        Times above it (seconds) are ``inf``.

    Returns
    -------
    time_s : np.ndarray of float64, shape (len(origins),)
        Seconds, access legs included; ``inf`` when not placed, unreachable or beyond the cutoff.
    row : np.ndarray of int64, shape (len(origins),)
        Row in ``targets`` of the nearest target, -1 where ``time_s`` is ``inf``.

    Raises
    ------
    InvalidParameterError
        Places put on another graph, or a negative cutoff.
    """
    from accessibility.routing.points import nearest_place

    check_graph_arg(graph)
    return nearest_place(graph, _checked(graph, origins, "origins"), _checked(graph, targets, "targets"), cutoff_s=cutoff_s)


def matrix_s(graph: Graph, origins: Places, destinations: Places, *, cutoff_s: float | None = None,
             strategy: str = "auto") -> np.ndarray:
    """Times (seconds) from every origin to every destination, parallel over origins.

    Core level: an array in seconds (with metres: :func:`accessibility.routing.matrix.travel_matrix_s`;
    in minutes and km, labelled: :func:`travel_time_matrix`). ``inf`` for places not placed,
    unreachable pairs and times above ``cutoff_s``. ``strategy="auto"`` is decided by
    :func:`accessibility.routing.matrix.choose_strategy` (the same times whichever it picks).

    Raises
    ------
    InvalidParameterError
        Places put on another graph, an unknown strategy or a negative cutoff.
    """
    from accessibility.routing.matrix import travel_matrix_s

    check_graph_arg(graph)
    o = _checked(graph, origins, "origins")
    d = _checked(graph, destinations, "destinations")
    t, _ = travel_matrix_s(graph, o, d, strategy=strategy, cutoff_s=cutoff_s, metres=False)
    return t


def travel_time_matrix(graph: Graph, origins: Places, destinations: Places, *, max_minutes: float | None = None,
                       strategy: str = "auto", form: str = "wide"):
    """Minutes and kilometres between places, as labelled tables (the user level, like r5py's
    ``TravelTimeMatrix``).

    Parameters
    ----------
    graph : Graph
    origins, destinations : Places
        Put on ``graph``.
    max_minutes : float, optional
        Longer trips are NaN.
    strategy : {"auto", "dijkstra", "ch", "phast"}
        See :func:`accessibility.routing.matrix.choose_strategy`; the same figures whichever.
    form : {"wide", "long"}
        ``"wide"``: a DataFrame of minutes, index the origin ids (named ``origin``), columns the
        destination ids (named ``destination``). ``"long"``: one row per pair, columns
        ``origin, destination, minutes, km``.

    Returns
    -------
    pandas.DataFrame
        Minutes (float64) and, in long form, road kilometres of the fastest path; NaN when
        unreachable, beyond ``max_minutes`` or for a place not placed.

    Raises
    ------
    InvalidParameterError
        Places of another graph, a bad ``max_minutes``, ``form`` or ``strategy``.
    """
    import pandas as pd

    from accessibility.routing.matrix import travel_matrix_s

    if form not in ("wide", "long"):
        raise InvalidParameterError(f"form must be 'wide' or 'long', got {form!r}")
    if max_minutes is not None and not (isinstance(max_minutes, (int, float)) and 0 < max_minutes < np.inf):
        raise InvalidParameterError(f"max_minutes must be a positive number of minutes, got {max_minutes!r}")
    check_graph_arg(graph)
    o = _checked(graph, origins, "origins")
    d = _checked(graph, destinations, "destinations")
    cut = None if max_minutes is None else float(max_minutes) * 60.0
    t, m = travel_matrix_s(graph, o, d, strategy=strategy, cutoff_s=cut, metres=form == "long")
    minutes = np.where(np.isfinite(t), t / 60.0, np.nan)
    oi = pd.Index(origins.ids.astype(str), name="origin")
    di = pd.Index(destinations.ids.astype(str), name="destination")
    if form == "wide":
        return pd.DataFrame(minutes, index=oi, columns=di)
    assert m is not None
    km = np.where(np.isfinite(t), m / 1000.0, np.nan)
    return pd.DataFrame({
        "origin": np.repeat(oi.to_numpy(), len(di)), "destination": np.tile(di.to_numpy(), len(oi)),
        "minutes": minutes.ravel(), "km": km.ravel(),
    })


#: Former names of :func:`nearest_s` and :func:`matrix_s` (the README's first examples), kept for
#: the analyses that call them; new code uses the ``_s`` names.
nearest = nearest_s
matrix = matrix_s
