"""Exception tree of the accessibility engine.

Every error raised for a user's input derives from :class:`AccessibilityError`, and also from the
built-in class that fits (``ValueError``, ``LookupError``, ``OSError``), so callers can catch either.
Messages name the bad value and say what to do.
"""

from __future__ import annotations

__all__ = [
    "AccessibilityError",
    "InputFileError",
    "OSMFileError",
    "NoDrivableRoadError",
    "InvalidParameterError",
    "DataFormatError",
    "SnapError",
    "NoCommuneError",
    "NoServiceError",
    "DownloadError",
]


class AccessibilityError(Exception):
    """Root of every error raised by the accessibility engine.

    A message is always one line: whitespace runs (newlines from a parser's message …) are
    folded into single spaces, so the CLI prints one line whatever the cause.
    """

    def __new__(cls, *args, **kwargs):
        return super().__new__(cls, *_one_line(args), **kwargs)

    def __init__(self, *args):
        super().__init__(*_one_line(args))

    def __str__(self) -> str:
        return " ".join(super().__str__().split())


def _one_line(args: tuple) -> tuple:
    if args and isinstance(args[0], str):
        return (" ".join(args[0].split()), *args[1:])
    return args


class InputFileError(AccessibilityError, OSError):
    """An input file is missing or cannot be read."""


class OSMFileError(InputFileError):
    """An OSM file is not a readable ``.osm.pbf`` (wrong format, truncated, corrupt)."""


class NoDrivableRoadError(AccessibilityError, ValueError):
    """An OSM extract holds no drivable road (or nothing is left after filtering)."""


class InvalidParameterError(AccessibilityError, ValueError):
    """An option has a value outside what is accepted (the message lists what is)."""


class DataFormatError(AccessibilityError, ValueError):
    """A data table lacks a required column or holds values that cannot be parsed."""


class SnapError(AccessibilityError, LookupError):
    """A point is farther from the road network than the allowed snapping distance."""


class NoCommuneError(AccessibilityError, LookupError):
    """A département (or selection) has no commune inside the road extract."""


class NoServiceError(AccessibilityError, LookupError):
    """No service to measure: a gamme or a service source has nothing in the area, so every time
    would be undefined (never reported as 0)."""


class DownloadError(AccessibilityError, OSError):
    """A download failed (HTTP error, timeout, connection cut, size or checksum mismatch)."""
