"""``access data info``: what a data directory holds and what each command would lack."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from accessibility.inputs.datasets.layout import COMMAND_ROLES, ROLES, DataDir, open_data_dir, pbf_timestamp

__all__ = ["describe_data_dir", "format_description"]


def describe_data_dir(data: DataDir | str | os.PathLike | None = None) -> dict[str, Any]:
    """A plain description of a data directory.

    Parameters
    ----------
    data : DataDir or path, optional
        The directory; the embedded data when omitted.

    Returns
    -------
    dict
        ``root``, ``name``, ``departements``, ``neighbours``, ``created``, ``files`` (per role:
        ``path``, ``exists``, ``bytes``, ``modified``, ``description``, and the ``source``,
        ``licence``, ``attribution``, ``vintage``, ``downloaded_at`` of its inputs when known;
        ``osm_data_date`` for the extract), ``coverage``, ``notes``, ``commands`` (per command:
        ``ready``, ``missing_required``, ``missing_optional``).

    Raises
    ------
    InputFileError, DataFormatError
        As :func:`~accessibility.inputs.datasets.layout.open_data_dir`.
    """
    dd = data if isinstance(data, DataDir) else open_data_dir(data)
    by_role: dict[str, list] = {}
    for s in dd.sources:
        by_role.setdefault(str(s.get("role", "")), []).append(dict(s))
    files = {}
    for role in list(ROLES) + [r for r in dd.files if r not in ROLES]:
        rel = dd.files.get(role)
        entry: dict[str, Any] = {"description": ROLES.get(role, "extra role"), "path": rel, "exists": False}
        if rel is not None:
            p = dd.root / rel
            if p.is_file():
                st = p.stat()
                entry.update(
                    exists=True,
                    bytes=st.st_size,
                    modified=datetime.fromtimestamp(st.st_mtime, UTC).isoformat(timespec="seconds"),
                )
                if role == "osm":
                    entry["osm_data_date"] = pbf_timestamp(p)
        srcs = by_role.get(role, [])
        if srcs:
            entry["sources"] = [
                {k: s.get(k) for k in ("name", "file", "title", "licence", "attribution", "vintage", "url", "downloaded_at", "sha256") if s.get(k)}
                for s in srcs
            ]
        files[role] = entry
    commands = {}
    for cmd in COMMAND_ROLES:
        req, opt = dd.missing(cmd)
        commands[cmd] = {"ready": not req, "missing_required": req, "missing_optional": opt}
    m = dict(dd.manifest)
    return {
        "root": str(dd.root),
        "name": dd.name,
        "departements": list(dd.departements),
        "neighbours": list(dd.neighbours),
        "created": m.get("created"),
        "created_by": m.get("created_by"),
        "buffer_km": m.get("buffer_km"),
        "files": files,
        "coverage": m.get("coverage", {}),
        "notes": list(m.get("notes", [])),
        "commands": commands,
    }


def _size(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return ""


def format_description(desc: dict[str, Any]) -> str:
    """The text ``access data info`` prints."""
    lines = [f"Data directory {desc['root']}"]
    if desc.get("name"):
        lines.append(f"  {desc['name']}")
    deps = ", ".join(desc["departements"]) or "?"
    nb = ", ".join(desc["neighbours"]) or "none"
    lines.append(f"  study area: {deps}   neighbours included: {nb}")
    if desc.get("created"):
        extra = f", buffer {desc['buffer_km']:g} km" if desc.get("buffer_km") is not None else ""
        lines.append(f"  assembled {desc['created']} by {desc.get('created_by') or '?'}{extra}")
    lines.append("")
    lines.append("Files")
    for role, f in desc["files"].items():
        if f["path"] is None:
            lines.append(f"  {role:<16} -")
            continue
        state = _size(f.get("bytes")) if f["exists"] else "MISSING"
        lines.append(f"  {role:<16} {f['path']}  ({state})")
        if f.get("osm_data_date"):
            lines.append(f"  {'':<16} OSM data of {f['osm_data_date']}")
        groups: dict[tuple, list] = {}
        for s in f.get("sources", []):
            key = (s.get("vintage", ""), s.get("licence", ""), s.get("attribution", ""))
            groups.setdefault(key, []).append(s)
        for (vintage, licence, attribution), items in groups.items():
            files = [Path(s["file"]).name for s in items if s.get("file")]
            dates = sorted(s["downloaded_at"] for s in items if s.get("downloaded_at"))
            if files:
                lines.append(f"  {'':<16} from {', '.join(files)}" + (f", downloaded {dates[0][:10]}" if dates else ""))
            lines.append(f"  {'':<16} {vintage + '; ' if vintage else ''}{licence}")
            if attribution:
                lines.append(f"  {'':<16} cite: {attribution}")
    cov = desc.get("coverage") or {}
    if cov:
        lines.append("")
        lines.append("Coverage")
        com = cov.get("communes")
        if isinstance(com, dict):
            for d, c in com.items():
                if isinstance(c, dict):
                    lines.append(
                        f"  communes {d}: {c.get('communes', '?'):,} communes, {c.get('population', 0):,} inhabitants, "
                        f"{c.get('without_centre', 0)} without centre"
                    )
        osm = cov.get("osm")
        if isinstance(osm, dict):
            lines.append(
                f"  roads: {osm.get('ways', 0):,} ways, {osm.get('nodes', 0):,} nodes over {osm.get('area_km2', 0):,.0f} km² "
                f"(study départements + {osm.get('buffer_km', 0):g} km)"
            )
        bpe = cov.get("bpe")
        if isinstance(bpe, dict):
            eq = ", ".join(f"{d} {n:,}" for d, n in (bpe.get("equipments") or {}).items())
            lines.append(f"  BPE: {eq} equipments ({bpe.get('from', '')})")
        pts = cov.get("bpe_points")
        if isinstance(pts, dict):
            lines.append(
                f"  geolocated BPE: {pts.get('equipments', 0):,} equipments, {pts.get('without_coordinates', 0):,} without coordinates"
            )
        pop = cov.get("population_grid")
        if isinstance(pop, dict):
            lines.append(f"  population grid: {pop.get('cells', 0):,} cells of 200 m")
    if desc.get("notes"):
        lines.append("")
        lines.append("Notes")
        lines.extend(f"  - {n}" for n in desc["notes"])
    lines.append("")
    lines.append("Commands")
    for cmd, c in desc["commands"].items():
        if c["ready"]:
            opt = f" (without: {', '.join(c['missing_optional'])})" if c["missing_optional"] else ""
            lines.append(f"  {cmd:<11} ready{opt}")
        else:
            lines.append(f"  {cmd:<11} MISSING {', '.join(c['missing_required'])}")
    return "\n".join(lines)
