"""The requests of the what-if page, checked before any work, and their limits.

Every body is JSON (``Content-Type: application/json``), at most :data:`MAX_BODY_BYTES`, an
object whose keys are all known. A what-if is three lists, all optional::

    {"add_points": [{"lon": 6.23, "lat": 44.09, "label": "Maison France services"}],
     "add_communes": ["04019"],
     "remove": ["18"]}

- ``add_points``: new sites at clicked points, inside the study area's bounding box (the
  communes analysed, their polygons included); the label is optional, at most
  :data:`MAX_LABEL_CHARS` characters, printable;
- ``add_communes``: new sites at the centre (chef-lieu) of communes analysed and placed;
- ``remove``: ids of existing sites.

At most :data:`MAX_ADDED_SITES` added sites in all, no duplicate. ``/api/optimize`` also takes
``k`` (1 to :data:`MAX_K`) and ``objective`` (``coverage`` or ``mean-time``).

A bad request raises :class:`RequestError` (an :class:`~accessibility.errors.InvalidParameterError`
with the HTTP status to answer), whose message, in French like the page, names the field and
the value.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from accessibility.errors import InvalidParameterError
from accessibility.outputs.maps import fr_number

__all__ = [
    "MAX_BODY_BYTES", "MAX_ADDED_SITES", "MAX_K", "MAX_LABEL_CHARS", "EXACT_TIME_LIMIT_S", "OBJECTIVES_FR",
    "RequestError", "StudyArea", "WhatIf", "parse_json_body", "parse_what_if", "parse_optimize",
]

#: Largest request body accepted (bytes): a what-if of :data:`MAX_ADDED_SITES` sites is ~5 kB.
MAX_BODY_BYTES = 64 * 1024
#: Most sites a what-if may add (clicked points and communes together).
MAX_ADDED_SITES = 50
#: Largest number of new sites the page's "meilleur site suivant" may ask for.
MAX_K = 3
#: Longest label of a clicked point.
MAX_LABEL_CHARS = 80
#: Seconds allowed to the exact solver behind "meilleur site suivant" (greedy is always given).
EXACT_TIME_LIMIT_S = 2.0
#: The optimisation objectives, in the page's words.
OBJECTIVES_FR: dict[str, str] = {
    "coverage": "le plus d'habitants sous le seuil",
    "mean-time": "le temps moyen pondéré le plus court",
}

_WHAT_IF_KEYS = ("add_points", "add_communes", "remove")
_OPTIMIZE_KEYS = _WHAT_IF_KEYS + ("k", "objective")


class RequestError(InvalidParameterError):
    """A request the server refuses; ``status`` is the HTTP status to answer (4xx)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = int(status)


@dataclass(frozen=True)
class StudyArea:
    """What requests are checked against.

    Attributes
    ----------
    bbox : tuple of float
        ``west, south, east, north`` (degrees, WGS84) of the communes analysed.
    communes : frozenset of str
        Codes of the communes analysed.
    placed : frozenset of str
        Codes of those placed on the road graph (only they can host a new site).
    sites : frozenset of str
        Ids of the existing sites.
    """

    bbox: tuple[float, float, float, float]
    communes: frozenset
    placed: frozenset
    sites: frozenset


@dataclass(frozen=True)
class WhatIf:
    """A checked what-if: ``points`` (lon, lat, label), commune codes, removed site ids."""

    points: tuple[tuple[float, float, str], ...] = ()
    communes: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.points or self.communes or self.remove)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse_json_body(body: bytes, content_type: str | None) -> dict:
    """The JSON object of a request body, or :class:`RequestError` (415 not JSON, 413 too
    large, 400 malformed)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise RequestError(
            f"le corps de la requête doit être du JSON (Content-Type: application/json), reçu {media or 'rien'!r}", 415)
    if len(body) > MAX_BODY_BYTES:
        raise RequestError(f"requête trop grosse : {fr_number(len(body))} octets, {fr_number(MAX_BODY_BYTES)} au plus", 413)
    try:
        text = body.decode("utf-8")
        obj = json.loads(text, parse_constant=_reject_constant) if text.strip() else None
    except UnicodeDecodeError:
        raise RequestError("le corps de la requête n'est pas en UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise RequestError(f"JSON illisible : {str(exc)[:120]}") from None
    if not isinstance(obj, dict):
        raise RequestError(f"le corps doit être un objet JSON {{...}}, reçu {type(obj).__name__ if obj is not None else 'rien'}")
    return obj


def _unknown_keys(obj: dict, allowed: tuple[str, ...]) -> None:
    extra = [k for k in obj if k not in allowed]
    if extra:
        raise RequestError(f"champ inconnu {str(extra[0])[:40]!r} ; champs admis : {', '.join(allowed)}")


def _list(obj: dict, key: str) -> list:
    v = obj.get(key, [])
    if v is None:
        return []
    if not isinstance(v, list):
        raise RequestError(f"{key} doit être une liste, reçu {type(v).__name__}")
    return v


def _number(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise RequestError(f"{what} doit être un nombre, reçu {json.dumps(v)[:40]}")
    return float(v)


def _text_id(v: Any, what: str) -> str:
    if not isinstance(v, str) or not v or len(v) > 64:
        raise RequestError(f"{what} doit être un identifiant (texte de 1 à 64 caractères), reçu {json.dumps(v)[:40]}")
    return v


def parse_what_if(obj: dict, area: StudyArea, *, allowed: tuple[str, ...] = _WHAT_IF_KEYS) -> WhatIf:
    """Check a what-if against the study area (see the module docstring)."""
    _unknown_keys(obj, allowed)
    w, s, e, n = area.bbox
    points = []
    raw_points = _list(obj, "add_points")
    raw_communes = _list(obj, "add_communes")
    raw_remove = _list(obj, "remove")
    if len(raw_points) + len(raw_communes) > MAX_ADDED_SITES:
        raise RequestError(f"{len(raw_points) + len(raw_communes)} sites ajoutés : {MAX_ADDED_SITES} au plus")
    if len(raw_remove) > len(area.sites):
        raise RequestError(f"{len(raw_remove)} sites retirés, il n'en existe que {len(area.sites)}")
    for i, p in enumerate(raw_points, start=1):
        if not isinstance(p, dict):
            raise RequestError(f"add_points[{i - 1}] doit être un objet {{lon, lat, label}}")
        _unknown_keys(p, ("lon", "lat", "label"))
        if "lon" not in p or "lat" not in p:
            raise RequestError(f"add_points[{i - 1}] : lon et lat sont requis")
        lon, lat = _number(p["lon"], f"add_points[{i - 1}].lon"), _number(p["lat"], f"add_points[{i - 1}].lat")
        if not (w <= lon <= e and s <= lat <= n):
            raise RequestError(
                f"le point ({lon:.5f}, {lat:.5f}) est hors de la zone étudiée "
                f"(longitude {w:.3f} à {e:.3f}, latitude {s:.3f} à {n:.3f})")
        label = p.get("label")
        if label is None or label == "":
            label = f"nouveau site {i}"
        if not isinstance(label, str) or len(label) > MAX_LABEL_CHARS or not label.isprintable():
            raise RequestError(f"add_points[{i - 1}].label doit être un texte imprimable de {MAX_LABEL_CHARS} caractères au plus")
        points.append((lon, lat, label))
    communes = []
    for i, c in enumerate(raw_communes):
        c = _text_id(c, f"add_communes[{i}]")
        if c not in area.communes:
            raise RequestError(f"commune inconnue {c!r} : elle n'est pas parmi les communes étudiées")
        if c not in area.placed:
            raise RequestError(f"la commune {c} n'est pas placée sur le réseau routier : elle ne peut pas accueillir de site", 422)
        if c in communes:
            raise RequestError(f"la commune {c} est ajoutée deux fois")
        communes.append(c)
    remove = []
    for i, r in enumerate(raw_remove):
        r = _text_id(r, f"remove[{i}]")
        if r not in area.sites:
            raise RequestError(f"site inconnu {r!r} : ce n'est pas l'identifiant d'un site existant")
        if r in remove:
            raise RequestError(f"le site {r} est retiré deux fois")
        remove.append(r)
    return WhatIf(tuple(points), tuple(communes), tuple(remove))


def parse_optimize(obj: dict, area: StudyArea) -> tuple[WhatIf, int, str]:
    """A what-if and the ``k`` (1 to :data:`MAX_K`) and ``objective`` of "meilleur site suivant"."""
    what_if = parse_what_if(obj, area, allowed=_OPTIMIZE_KEYS)
    k = obj.get("k", 1)
    if isinstance(k, bool) or not isinstance(k, int) or not (1 <= k <= MAX_K):
        raise RequestError(f"k doit être un entier de 1 à {MAX_K}, reçu {json.dumps(k)[:40]}")
    objective = obj.get("objective", "coverage")
    if objective not in OBJECTIVES_FR:
        raise RequestError(f"objectif inconnu {json.dumps(objective)[:40]} ; admis : {', '.join(OBJECTIVES_FR)}")
    return what_if, k, objective
