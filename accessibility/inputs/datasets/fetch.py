"""Robust downloads for ``access data fetch``.

Every file is streamed (urllib, no extra dependency) into a temporary file next to its
destination and renamed only when complete and checked, so the destination either holds a whole
file or nothing; Ctrl-C and SIGTERM remove the temporary file. The size is checked against
``Content-Length`` and the checksum against the one the source publishes (:mod:`.sources`).
A rerun downloads only what is missing. ``sources.json`` in the download directory records, for
every file, its URL, date, size and sha256 (and the published checksum), so a study can cite and
reproduce its inputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from accessibility.errors import DownloadError, InvalidParameterError
from accessibility.inputs.datasets.departements import check_departements
from accessibility.inputs.datasets.sources import (
    DEFAULT_BPE_YEAR,
    SOURCES,
    PlannedFile,
    Source,
    plan_downloads,
)

__all__ = [
    "MANIFEST_NAME",
    "USER_AGENT",
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_RETRIES",
    "Download",
    "FetchReport",
    "download",
    "fetch_departement",
    "read_sources_manifest",
]

log = logging.getLogger(__name__)

#: The download record of a fetch directory.
MANIFEST_NAME = "sources.json"
USER_AGENT = "accessibility-data-fetch/0.1 (+https://github.com/; French territorial access study)"
#: Seconds without a byte before a connection is given up.
DEFAULT_TIMEOUT_S = 60.0
#: Retries of a file after a network failure (timeout, cut connection, 5xx), with a pause.
DEFAULT_RETRIES = 2
#: Pause before retry ``k`` is ``RETRY_PAUSE_S * 2**k`` seconds.
RETRY_PAUSE_S = 2.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Download:
    """What :func:`download` did.

    Attributes
    ----------
    path : Path
    url : str
        The URL asked (after resolution; redirects are followed).
    bytes : int
    sha256 : str
    checksum : dict
        ``{"type": "md5"|"sha1", "value": ..., "verified": bool}`` or empty.
    http : dict
        ``Last-Modified``, ``ETag`` and ``Content-Length`` as the server sent them.
    seconds : float
    skipped : bool
        True when the file was already there (nothing downloaded).
    """

    path: Path
    url: str
    bytes: int
    sha256: str
    checksum: Mapping[str, Any] = field(default_factory=dict)
    http: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: bool = False


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` cleans up."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`_Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):  # noqa: ARG001
        raise _Terminated(f"terminated by signal {signum}")

    old = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _fatal(message: str) -> DownloadError:
    """A failure that retrying cannot fix (HTTP 4xx, size or checksum mismatch)."""
    exc = DownloadError(message)
    exc.transient = False
    return exc


def _short_url(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."


def _open(url: str, timeout: float, headers: Mapping[str, str] | None = None):
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    try:
        return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s)/file URLs by design
    except urllib.error.HTTPError as exc:
        msg = f"HTTP {exc.code} {exc.reason} for {_short_url(url)}"
        raise (_fatal(msg) if 400 <= exc.code < 500 and exc.code not in (408, 429) else DownloadError(msg)) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise DownloadError(f"no answer within {timeout:g} s from {_short_url(url)} (timeout)") from None
        raise DownloadError(f"cannot reach {_short_url(url)}: {reason}") from None
    except TimeoutError:
        raise DownloadError(f"no answer within {timeout:g} s from {_short_url(url)} (timeout)") from None
    except (http.client.HTTPException, OSError) as exc:
        raise DownloadError(f"connection to {_short_url(url)} failed: {exc}") from None


def fetch_text(url: str, *, timeout: float = DEFAULT_TIMEOUT_S, max_bytes: int = 10_000_000) -> str:
    """GET a small text resource (an ``.md5`` file, an API answer).

    Raises
    ------
    DownloadError
    """
    with _open(url, timeout) as resp:
        try:
            data = resp.read(max_bytes + 1)
        except TimeoutError:
            raise DownloadError(f"no data within {timeout:g} s from {_short_url(url)} (timeout)") from None
        except (http.client.HTTPException, OSError) as exc:
            raise DownloadError(f"connection to {_short_url(url)} was cut: {exc}") from None
    if len(data) > max_bytes:
        raise DownloadError(f"{_short_url(url)} is larger than {max_bytes:,} bytes, not a small text file")
    return data.decode("utf-8", errors="replace")


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _progress_bar(total: int | None, desc: str, progress: bool | None):
    from tqdm.auto import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else not progress
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, disable=disable, leave=False)


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    checksum: tuple[str, str] | None = None,
    expected_size: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: bool | None = None,
    desc: str | None = None,
) -> Download:
    """Download ``url`` to ``dest``, atomically.

    The bytes go to a temporary file in ``dest``'s folder, renamed to ``dest`` only once the
    transfer is complete and the size and checksum match. On any error (and on Ctrl-C or SIGTERM
    in the main thread) the temporary file is removed and ``dest`` is untouched.

    Parameters
    ----------
    url : str
        ``http://``, ``https://`` or ``file://`` URL.
    dest : path
        Destination file (its folder is created).
    checksum : (algorithm, hex), optional
        ``("md5", ...)``, ``("sha1", ...)`` or ``("sha256", ...)`` the file must have.
    expected_size : int, optional
        Size (bytes) the file must have, when known from elsewhere than ``Content-Length``.
    timeout : float
        Seconds without data before giving up.
    progress : bool or None
        Progress bar on stderr (None: only on a terminal).
    desc : str, optional
        Label of the progress bar.

    Returns
    -------
    Download

    Raises
    ------
    DownloadError
        HTTP error, timeout, connection cut before the end, size or checksum mismatch; the
        message is one line with the URL.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    algo = hexval = None
    if checksum is not None:
        algo, hexval = checksum[0].lower(), checksum[1].strip().lower()
        if algo not in ("md5", "sha1", "sha256"):
            raise InvalidParameterError(f"unsupported checksum algorithm {checksum[0]!r} (md5, sha1, sha256)")
    t0 = time.perf_counter()
    tmp = None
    with _sigterm_interrupts():
        try:
            resp = _open(url, timeout)
            with resp:
                length = resp.headers.get("Content-Length")
                total = int(length) if length is not None and length.isdigit() else None
                info = {
                    k: resp.headers.get(k)
                    for k in ("Last-Modified", "ETag", "Content-Length")
                    if resp.headers.get(k) is not None
                }
                sha256 = hashlib.sha256()
                other = hashlib.new(algo) if algo not in (None, "sha256") else None
                fd, tmpname = _mkstemp(dest)
                tmp = Path(tmpname)
                n = 0
                with os.fdopen(fd, "wb") as out, _progress_bar(total, desc or dest.name, progress) as bar:
                    while True:
                        try:
                            block = resp.read(_CHUNK)
                        except TimeoutError:
                            raise DownloadError(
                                f"no data for {timeout:g} s from {_short_url(url)} after {n:,} bytes (timeout)"
                            ) from None
                        except http.client.IncompleteRead as exc:
                            got = n + len(exc.partial)
                            of = f" of {total:,}" if total is not None else ""
                            raise DownloadError(
                                f"connection cut after {got:,}{of} bytes of {_short_url(url)}; nothing kept, "
                                "run again to retry"
                            ) from None
                        except (http.client.HTTPException, OSError) as exc:
                            raise DownloadError(
                                f"connection to {_short_url(url)} cut after {n:,} bytes: {exc}"
                            ) from None
                        if not block:
                            break
                        out.write(block)
                        sha256.update(block)
                        if other is not None:
                            other.update(block)
                        n += len(block)
                        bar.update(len(block))
                    out.flush()
                    os.fsync(out.fileno())
            if total is not None and n != total:
                raise DownloadError(
                    f"connection cut after {n:,} of {total:,} bytes of {_short_url(url)}; nothing kept, run again to retry"
                )
            if expected_size is not None and n != expected_size:
                raise _fatal(
                    f"{_short_url(url)} has {n:,} bytes where its source announces {expected_size:,}"
                )
            digest = sha256.hexdigest()
            ck: dict[str, Any] = {}
            if algo is not None:
                got = digest if algo == "sha256" else other.hexdigest()
                if got != hexval:
                    raise _fatal(
                        f"checksum mismatch for {_short_url(url)}: {algo} {got}, expected {hexval} "
                        "(corrupt transfer or the file changed at the source); nothing kept"
                    )
                ck = {"type": algo, "value": hexval, "verified": True}
            os.replace(tmp, dest)
            tmp = None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    tmp.unlink()
    return Download(
        path=dest, url=url, bytes=n, sha256=digest, checksum=ck, http=info, seconds=time.perf_counter() - t0
    )


def _mkstemp(dest: Path) -> tuple[int, str]:
    """A temporary file next to ``dest`` with the mode a plain ``open`` would give (umask)."""
    import tempfile

    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.fchmod(fd, 0o666 & ~_umask())
    return fd, name


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------------------------
# the fetch of a study area


@dataclass(frozen=True)
class FetchReport:
    """What :func:`fetch_departement` did.

    Attributes
    ----------
    dest : Path
        The download directory.
    files : list of dict
        One record per planned file: ``local``, ``source``, ``url``, ``status``
        (``"downloaded"``, ``"present"``, ``"failed"``), ``bytes``, ``sha256``, ``error``.
    manifest : Path
        ``sources.json``.
    """

    dest: Path
    files: list
    manifest: Path

    @property
    def failed(self) -> list:
        return [f for f in self.files if f["status"] == "failed"]


def read_sources_manifest(dest: str | os.PathLike) -> dict:
    """The ``sources.json`` of a download directory (an empty record when there is none).

    Raises
    ------
    DataFormatError
        The file exists but is not valid JSON.
    """
    from accessibility.errors import DataFormatError

    p = Path(dest) / MANIFEST_NAME
    if not p.is_file():
        return {"files": {}}
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{str(p)!r} is not valid JSON: {exc}") from exc
    doc.setdefault("files", {})
    return doc


def _write_json_atomic(path: Path, doc: Mapping) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _resolve_datagouv(pf: PlannedFile, timeout: float) -> tuple[str, tuple[str, str] | None, int | None, dict]:
    """The current CSV resource of a data.gouv.fr dataset: ``(url, checksum, size, info)``."""
    text = fetch_text(pf.url, timeout=timeout)
    try:
        doc = json.loads(text)
        resources = doc["resources"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise DownloadError(f"{_short_url(pf.url)} is not a data.gouv.fr dataset answer (no resources)") from None
    csvs = [r for r in resources if str(r.get("format", "")).lower() == "csv" and r.get("url")]
    hint = pf.source.resource_hint.lower()
    preferred = [r for r in csvs if hint and hint in str(r.get("title", "")).lower()] or csvs
    if not preferred:
        raise DownloadError(f"the data.gouv.fr dataset {_short_url(pf.url)} has no CSV resource")
    best = max(preferred, key=lambda r: str(r.get("last_modified") or r.get("created_at") or ""))
    ck = best.get("checksum") or {}
    checksum = None
    if isinstance(ck, dict) and str(ck.get("type", "")).lower() in ("md5", "sha1", "sha256") and ck.get("value"):
        checksum = (str(ck["type"]).lower(), str(ck["value"]))
    size = best.get("filesize")
    info = {
        "resource_id": best.get("id"),
        "resource_title": best.get("title"),
        "last_modified": best.get("last_modified"),
        "dataset_api": pf.url,
    }
    return str(best["url"]), checksum, int(size) if isinstance(size, int) and size > 0 else None, info


def _published_checksum(pf: PlannedFile, url: str, timeout: float) -> tuple[str, str] | None:
    spec = pf.source.checksum
    if spec is None or spec == "datagouv":
        return None
    if spec.startswith(("sha1:", "md5:", "sha256:")):
        algo, value = spec.split(":", 1)
        return algo, value
    if spec == "md5-file":
        text = fetch_text(url + ".md5", timeout=timeout).strip()
        value = text.split()[0] if text else ""
        if len(value) != 32 or any(c not in "0123456789abcdefABCDEF" for c in value):
            raise DownloadError(f"{_short_url(url + '.md5')} does not hold an md5 sum: {text[:60]!r}")
        return "md5", value
    raise InvalidParameterError(f"source {pf.name!r} has an unknown checksum kind {spec!r}")


def fetch_departement(
    departements: str | Sequence[str],
    *,
    dest: str | os.PathLike,
    neighbours: bool | Sequence[str] = True,
    population_grid: bool = False,
    mirror: str | None = None,
    osm_provider: str = "osmfr",
    bpe_year: int = DEFAULT_BPE_YEAR,
    only: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    retries: int = DEFAULT_RETRIES,
    keep_going: bool = True,
    progress: bool | None = None,
    catalogue: Sequence[Source] = SOURCES,
    on_file: Callable[[dict], None] | None = None,
) -> FetchReport:
    """Download everything a study area needs into ``dest``.

    Files already in ``dest`` are kept (a rerun downloads only what is missing; delete a file to
    get it again). ``sources.json`` is updated after every file.

    Parameters
    ----------
    departements : str or sequence of str
        Study area, e.g. ``"62"``.
    dest : path
        Download directory.
    neighbours : bool or sequence of str, default True
        Fetch the neighbouring départements' OSM extracts, communes and polygons too.
    population_grid : bool, default False
        Also fetch INSEE's Filosofi 200 m population grid (large).
    mirror : str, optional
        Base URL replacing every host (files at ``mirror/<mirror_path>``, see
        :func:`accessibility.inputs.datasets.sources.plan_downloads`).
    osm_provider : {"osmfr", "geofabrik"}
    bpe_year : int
    only : sequence of str, optional
        Fetch these sources only.
    timeout : float
        Seconds without data before a connection is given up.
    retries : int
        Extra attempts per file after a network failure (not after an HTTP 4xx or a checksum
        mismatch).
    keep_going : bool, default True
        Go on with the other files after a failure (the report lists what failed).
    progress : bool or None
        Progress bars on stderr (None: on a terminal).
    catalogue : sequence of Source
        The sources (tests pass their own).
    on_file : callable, optional
        Called with each file's record as soon as it is done.

    Returns
    -------
    FetchReport

    Raises
    ------
    InvalidParameterError
        Bad département code, provider, year, source name, mirror URL or retries.
    DownloadError
        With ``keep_going=False``, the first failure.
    """
    if int(retries) < 0:
        raise InvalidParameterError(f"retries must be >= 0, got {retries!r}")
    plan = plan_downloads(
        departements, neighbours=neighbours, population_grid=population_grid, mirror=mirror,
        osm_provider=osm_provider, bpe_year=bpe_year, only=only, catalogue=catalogue,
    )
    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    doc = read_sources_manifest(root)
    doc["request"] = {
        "departements": list(check_departements(departements)),
        "neighbours": neighbours if isinstance(neighbours, bool) else list(neighbours),
        "population_grid": population_grid,
        "mirror": mirror,
        "osm_provider": osm_provider,
        "bpe_year": bpe_year,
    }
    mpath = root / MANIFEST_NAME
    records: list[dict] = []
    for pf in plan:
        rec = _fetch_one(pf, root, doc, timeout=timeout, retries=int(retries), progress=progress)
        records.append(rec)
        if rec["status"] != "failed":
            doc["files"][pf.local] = {k: v for k, v in rec.items() if k not in ("status", "error", "local")}
        _write_json_atomic(mpath, doc)
        if on_file is not None:
            on_file(rec)
        if rec["status"] == "failed" and not keep_going:
            raise DownloadError(rec["error"])
    return FetchReport(dest=root, files=records, manifest=mpath)


def _record_base(pf: PlannedFile) -> dict:
    s = pf.source
    return {
        "local": pf.local,
        "source": s.name,
        "role": s.role,
        "departement": pf.departement,
        "licence": s.licence,
        "attribution": s.attribution,
        "documentation": s.documentation,
    }


def _fetch_one(pf: PlannedFile, root: Path, doc: dict, *, timeout: float, retries: int, progress) -> dict:
    path = root / pf.local
    rec = _record_base(pf)
    if path.is_file():
        old = doc["files"].get(pf.local)
        if old and old.get("bytes") == path.stat().st_size and old.get("sha256"):
            rec.update({k: v for k, v in old.items() if k not in rec}, status="present")
            log.info("%s: present (%s bytes), not downloaded again", pf.local, f"{path.stat().st_size:,}")
            return rec
        rec.update(
            url=(old or {}).get("url", pf.url), status="present", bytes=path.stat().st_size,
            sha256=_hash_file(path), downloaded_at=None,
            note="already in the directory (placed by hand or by an earlier run): not downloaded",
        )
        return rec
    attempt = 0
    while True:
        try:
            url, checksum, size, extra = pf.url, None, None, {}
            if pf.source.resolver == "datagouv" and not pf.mirrored:
                url, checksum, size, extra = _resolve_datagouv(pf, timeout)
            elif pf.source.checksum is not None:
                checksum = _published_checksum(pf, url, timeout)
            d = download(url, path, checksum=checksum, expected_size=size, timeout=timeout,
                         progress=progress, desc=pf.local)
            rec.update(
                status="downloaded", url=d.url, bytes=d.bytes, sha256=d.sha256, checksum=dict(d.checksum),
                http=dict(d.http), seconds=round(d.seconds, 2),
                downloaded_at=datetime.now(UTC).isoformat(timespec="seconds"), **extra,
            )
            log.info("%s: %s bytes in %.1f s", pf.local, f"{d.bytes:,}", d.seconds)
            return rec
        except DownloadError as exc:
            msg = str(exc)
            if getattr(exc, "transient", True) and attempt < retries:
                pause = RETRY_PAUSE_S * 2**attempt
                log.warning("%s: %s; retrying in %.0f s", pf.local, msg, pause)
                time.sleep(pause)
                attempt += 1
                continue
            rec.update(status="failed", url=pf.url, error=msg)
            log.error("%s: %s", pf.local, msg)
            return rec
