"""Writing a travel-time surface as a Cloud-Optimised GeoTIFF (rasterio, GDAL's COG driver).

One band of float32 minutes, nodata NaN, 256 x 256 tiles, DEFLATE with the floating-point
predictor, and overviews (averages, nodata ignored) down to one tile, so that QGIS opens a
département at once and pans without reading the full-resolution cells. The tags say what the
values are (units, direction, off-road rule, resolution, engine version).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from accessibility.isochrones.surface import DIRECTION, Surface

__all__ = ["COG_OPTIONS", "write_geotiff"]

#: Creation options of GDAL's COG driver (https://gdal.org/drivers/raster/cog.html).
COG_OPTIONS = {
    "compress": "DEFLATE",
    "predictor": "YES",  # the floating-point predictor for float32
    "blocksize": 256,
    "overviews": "AUTO",  # halve until the overview fits in one tile
    "overview_resampling": "AVERAGE",
    "bigtiff": "IF_SAFER",
}


def write_geotiff(surface: Surface, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Write ``surface`` as a Cloud-Optimised GeoTIFF (float32 minutes, nodata NaN, overviews).

    Parameters
    ----------
    surface : Surface
    path : str or path-like
        File to write (replaced when it exists). Write into a staged directory
        (:class:`accessibility._io.OutputDir`) for an all-or-nothing run.
    title : str, optional
        Stored as the band description and the ``TITLE`` tag.

    Returns
    -------
    Path
    """
    import rasterio

    from accessibility import __version__

    p = Path(path)
    g = surface.grid
    desc = title or "car travel time (minutes) to the nearest site"
    with rasterio.open(
        p, "w", driver="COG", width=g.width, height=g.height, count=1, dtype="float32", crs=g.crs,
        transform=g.transform, nodata=np.nan, **COG_OPTIONS,
    ) as dst:
        dst.write(np.asarray(surface.minutes, dtype=np.float32), 1)
        dst.set_band_description(1, desc)
        dst.update_tags(
            TITLE=desc,
            units="minutes",
            direction=DIRECTION,
            resolution_m=f"{g.resolution_m:g}",
            max_offroad_m=f"{surface.max_offroad_m:g}",
            connector_speed_kmh=f"{surface.connector_speed_kmh:g}",
            max_minutes="" if surface.max_minutes is None else f"{surface.max_minutes:g}",
            groups=str(surface.n_groups),
            sites_placed=str(surface.sites.n_placed),
            nodata="no road within max_offroad_m, no site reachable, beyond max_minutes, or outside the area",
            software=f"accessibility {__version__}",
        )
        dst.update_tags(1, units="minutes")
    return p
