"""``access serve``: a planner's what-if page, its JSON API and its files.

- :mod:`accessibility.web.api`: the requests, checked before any work, and their limits;
- :mod:`accessibility.web.planner`: :class:`Planner`, the answers from one read-only
  :class:`~accessibility.analyses.siting.SitingModel` (each request carries its whole scenario);
- :mod:`accessibility.web.app`: :func:`create_app`, the Starlette application (routes, errors as
  JSON, body limit, ``Server-Timing``);
- ``static/``: the page (French), and Leaflet vendored with its licence
  (``static/vendor/leaflet-1.9.4/README.md`` says where it comes from).

Starlette is imported only when the application is built, so importing this package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["Planner", "create_app"]

if TYPE_CHECKING:  # pragma: no cover
    from accessibility.web.app import create_app
    from accessibility.web.planner import Planner


def __getattr__(name: str):
    if name == "create_app":
        from accessibility.web.app import create_app

        return create_app
    if name == "Planner":
        from accessibility.web.planner import Planner

        return Planner
    raise AttributeError(name)
