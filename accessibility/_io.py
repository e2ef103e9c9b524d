"""Reading user tables and writing a run's outputs: the promises every command keeps.

Reading (:func:`read_table` and the ``require_*`` checks):

- a file that cannot be read (missing, not UTF-8, truncated gzip, not a CSV, no data row) raises
  :class:`~accessibility.errors.InputFileError` or :class:`~accessibility.errors.DataFormatError`
  with **one line naming the file**, never another exception;
- a value outside its domain (not a number, NaN, infinite, negative where it cannot be, an empty
  or duplicate key) raises :class:`~accessibility.errors.DataFormatError` naming the file, the
  row (line number in the file, header = line 1) and the column.

Writing (:class:`OutputDir`): a run's outputs are **one unit**. They are written into a fresh
hidden sibling directory, with ``run.json`` (the manifest naming exactly the files of the run)
written last, and the sibling is then swapped with the output directory in one atomic
``renameat2(RENAME_EXCHANGE)`` (or two renames, recovered at the next run, where that call is
missing). A run that fails, is interrupted (Ctrl-C, SIGTERM) or cannot write one file leaves the
output directory exactly as the previous complete run left it (or absent), and no temporary file.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gzip
import hashlib
import io
import json
import logging
import os
import shutil
import uuid
import warnings
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from accessibility.errors import DataFormatError, InputFileError, InvalidParameterError

__all__ = [
    "check_file",
    "sha256_file",
    "file_provenance",
    "sniff_separator",
    "read_table",
    "line_of",
    "require_numbers",
    "require_keys",
    "OutputDir",
    "run_outputs",
    "check_out_dir",
    "RUN_FILE",
    "pid_alive",
]

log = logging.getLogger(__name__)

#: Name of the manifest every run writes last into its output directory.
RUN_FILE = "run.json"

# --------------------------------------------------------------------------------------------
# input files


def check_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a :class:`~pathlib.Path`, or :class:`InputFileError` when it is not a file."""
    if path is None or (isinstance(path, str) and not path.strip()):
        raise InputFileError(f"no {what} given (empty path)")
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{what} {str(p)!r} does not exist or is not a file")
    return p


_HASHES: dict[tuple, str] = {}


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex), remembered for the process while its size and mtime hold."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    hit = _HASHES.get(key)
    if hit is not None:
        return hit
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def file_provenance(path: str | os.PathLike, role: str, *, embedded: bool = False) -> dict:
    """What a run records of an input file: role, resolved path, bytes, sha256, embedded or not."""
    p = Path(path)
    return {
        "role": role,
        "path": str(p.resolve()),
        "bytes": p.stat().st_size,
        "sha256": sha256_file(p),
        "embedded": bool(embedded),
    }


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


#: What reading a damaged text/gzip/CSV file can raise, beyond pandas' own errors.
_READ_ERRORS = (UnicodeDecodeError, EOFError, zlib.error, gzip.BadGzipFile, ValueError, OSError,
                IndexError, KeyError, TypeError, OverflowError)


def _decode_text(path: Path, what: str) -> str:
    """The whole text of a csv or csv.gz file, checked: UTF-8 (a BOM is dropped), not truncated."""
    try:
        with _open_text(path) as fh:
            text = fh.read()
    except (UnicodeDecodeError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        kind = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "a damaged or truncated gzip file"
        raise DataFormatError(f"{what} {str(path)!r} is {kind}: {exc}") from None
    except OSError as exc:
        raise InputFileError(f"cannot read {what} {str(path)!r}: {exc.strerror or exc}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise DataFormatError(f"{what} {str(path)!r} holds NUL bytes: it is not a text (CSV) file")
    return text


def header_line(path: Path, what: str) -> str:
    """The first line of a csv or csv.gz file (BOM dropped), or a one-line error naming the file."""
    try:
        with _open_text(Path(path)) as fh:
            return fh.readline().lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{what} {str(path)!r} is not UTF-8 text: {exc}") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataFormatError(f"{what} {str(path)!r} is a damaged or truncated gzip file: {exc}") from None
    except OSError as exc:
        raise InputFileError(f"cannot read {what} {str(path)!r}: {exc.strerror or exc}") from None


def sniff_separator(header_line: str) -> str:
    """``';'`` or ``','``: whichever is more frequent in the header line."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _find_columns(
    header: list[str], wanted: Mapping[str, tuple[str, ...]], path: Path, what: str, optional=()
) -> dict[str, str]:
    """Map canonical names to the file's column names (case-insensitive, aliases allowed)."""
    lower = {str(h).strip().lower(): h for h in header}
    found, missing = {}, []
    for canon, aliases in wanted.items():
        for a in aliases:
            if a.lower() in lower:
                found[canon] = lower[a.lower()]
                break
        else:
            if canon not in optional:
                missing.append("/".join(aliases))
    if missing:
        raise DataFormatError(
            f"{what} {str(path)!r} lacks the column(s) {', '.join(missing)}; "
            f"its columns are {', '.join(map(str, header)) or '(none)'}"
        )
    return found


def read_table(
    path: str | os.PathLike,
    wanted: Mapping[str, tuple[str, ...]],
    what: str,
    *,
    optional=(),
    allow_empty: bool = False,
):
    """Read the ``wanted`` columns of a csv/csv.gz (``,`` or ``;``), every cell as text.

    Parameters
    ----------
    path : str or path-like
    wanted : mapping canonical name -> accepted column names (case-insensitive)
    what : str
        How to name the file in messages ("BPE file").
    optional : iterable of str
        Canonical names that may be absent (then absent from the result).
    allow_empty : bool, default False
        Accept a file with a header and no data row.

    Returns
    -------
    pandas.DataFrame
        The columns renamed to their canonical names, object dtype (str, NaN for empty cells),
        ``attrs["source"]`` set to :func:`file_provenance`. Row ``i`` is line ``i + 2`` of the
        file (:func:`line_of`).

    Raises
    ------
    InputFileError
        Missing or unreadable file.
    DataFormatError
        Not UTF-8, damaged gzip, not parseable as CSV, a missing column, no data row.
    """
    import pandas as pd

    p = check_file(path, what)
    text = _decode_text(p, what)
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise DataFormatError(f"{what} {str(p)!r} is empty (no header line)")
    sep = sniff_separator(first)
    try:
        header = list(pd.read_csv(io.StringIO(first + "\n"), sep=sep, nrows=0).columns)
    except Exception as exc:  # noqa: BLE001 - pandas raises many kinds on a bad header
        raise DataFormatError(f"{what} {str(p)!r}: cannot read its header line: {exc}") from None
    cols = _find_columns(header, wanted, p, what, optional)
    try:
        # every column is read (not ``usecols``) so that a row with too many fields is an error,
        # not silently cut to the header's width
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # data cut to the header's width
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=object, keep_default_na=False, na_values=[""],
                             engine="c", index_col=False)
    except Exception as exc:  # noqa: BLE001 - pandas' parser errors have no common base
        raise DataFormatError(f"{what} {str(p)!r} cannot be parsed as CSV: {exc}") from None
    if len(df) == 0 and not allow_empty:
        raise DataFormatError(f"{what} {str(p)!r} has a header but no data row")
    df = df[list(cols.values())].rename(columns={v: k for k, v in cols.items()})
    for c in df.columns:
        df[c] = _strip_cells(df[c])
    df.attrs["source"] = {"path": str(p.resolve())}
    return df


def _strip_cells(s):
    """Cells without surrounding blanks, blank cells as NaN; work done once per distinct value."""
    import pandas as pd

    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    if len(uniq) == 0:
        return s.astype(object)
    clean = np.array([str(u).strip() for u in uniq], dtype=object)
    clean[clean == ""] = np.nan
    out = np.full(len(s), np.nan, dtype=object)
    ok = codes >= 0
    out[ok] = clean[codes[ok]]
    return pd.Series(out, index=s.index, dtype=object)


def line_of(row: int) -> int:
    """Line number in the file of data row ``row`` (0-based), the header being line 1."""
    return int(row) + 2


def require_numbers(
    df,
    column: str,
    path,
    what: str,
    *,
    minimum: float | None = None,
    allow_missing: bool = False,
    decimal_comma: bool = False,
    label: str | None = None,
) -> np.ndarray:
    """The numbers of a text column, or :class:`DataFormatError` naming file, line and column.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`read_table`.
    column : str
        Canonical column name.
    path, what
        For the message.
    minimum : float, optional
        Smallest accepted value (e.g. 0 for counts and populations).
    allow_missing : bool, default False
        Empty cells become NaN instead of an error.
    decimal_comma : bool, default False
        Accept ``1,5`` for 1.5.
    label : str, optional
        Column name to show (the file's own header); ``column`` when omitted.

    Returns
    -------
    np.ndarray of float64
        NaN only for empty cells when ``allow_missing``.
    """
    import pandas as pd

    s = df[column]
    name = label or column
    # parse each distinct text once (a count column repeats a few hundred values)
    inv, uniq = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
    txt = pd.Series(np.asarray(uniq, dtype=object), dtype=object)
    if decimal_comma and len(txt):
        txt = txt.str.replace(",", ".", regex=False)
    uvals = pd.to_numeric(txt, errors="coerce").to_numpy(dtype=np.float64) if len(txt) else np.zeros(0)
    vals = np.where(inv >= 0, uvals[np.maximum(inv, 0)] if len(uvals) else np.nan, np.nan)
    missing = inv < 0
    bad = np.isnan(vals) & ~missing
    bad |= np.isinf(vals)
    if not allow_missing:
        bad |= missing
    if minimum is not None:
        bad |= vals < minimum
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        v = s.iloc[i]
        if v is None or (isinstance(v, float) and np.isnan(v)):
            problem = "is empty"
        elif not np.isfinite(vals[i]):
            problem = f"holds {v!r}, not a finite number"
        else:
            problem = f"holds {v!r}, below the minimum {minimum:g}"
        raise DataFormatError(
            f"{what} {str(path)!r}, line {line_of(i)}, column {name!r} {problem}"
            f"{f' ({int(bad.sum())} such rows)' if bad.sum() > 1 else ''}"
        )
    return vals


def require_keys(df, columns: tuple[str, ...], path, what: str, *, unique: bool = True) -> None:
    """Refuse empty key cells, and (with ``unique``) duplicate keys, naming file, line and column."""
    for c in columns:
        empty = df[c].isna().to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise DataFormatError(
                f"{what} {str(path)!r}, line {line_of(i)}, column {c!r} is empty: every row needs a {c}"
            )
    if unique:
        dup = df.duplicated(list(columns)).to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            key = ", ".join(str(df[c].iloc[i]) for c in columns)
            raise DataFormatError(
                f"{what} {str(path)!r}, line {line_of(i)}: {'/'.join(columns)} {key} appears more than once"
            )


# --------------------------------------------------------------------------------------------
# output directories


def pid_alive(pid: int) -> bool:
    """Whether a process of that id exists (this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: The manifest's name inside a Parquet dataset directory: readers skip names starting with ``_``.
DATASET_RUN_FILE = "_run.json"


def _is_previous_run(d: Path) -> bool:
    run = d / RUN_FILE if (d / RUN_FILE).is_file() else d / DATASET_RUN_FILE
    if not run.is_file():
        return False
    try:
        meta = json.loads(run.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and ("command" in meta or "parameters" in meta)


def check_out_dir(path: str | os.PathLike | None) -> Path:
    """Validate an output directory before any work: its outputs may replace what it holds.

    Accepted: a path that does not exist yet (its parent is created), an empty directory, or
    the directory of an earlier run (it holds a ``run.json``). Refused, with one line: an empty
    path, a file, a directory holding other files (they would be lost), an unwritable parent.

    Raises
    ------
    InvalidParameterError
    """
    if path is None or not str(path).strip():
        raise InvalidParameterError("the output directory is empty: give a directory name, e.g. --out access-output")
    p = Path(path).expanduser()
    if p.is_symlink():
        p = p.resolve()
    p = Path(os.path.abspath(p))
    if p.exists() and not p.is_dir():
        raise InvalidParameterError(f"output directory {str(p)!r} is a file: give a directory")
    if p.parent == p:
        raise InvalidParameterError(f"output directory {str(p)!r} is a file system root: give a sub-directory")
    if p.is_dir():
        try:
            entries = [e for e in p.iterdir()]
        except OSError as exc:
            raise InvalidParameterError(f"cannot list output directory {str(p)!r}: {exc.strerror or exc}") from None
        if entries and not _is_previous_run(p):
            raise InvalidParameterError(
                f"output directory {str(p)!r} holds other files ({entries[0].name}, …) and no run.json of an "
                "earlier run: its content would be replaced; give a new or empty directory"
            )
    parent = p.parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InvalidParameterError(f"cannot write into {str(probe)!r} (permission denied) to create {str(p)!r}")
    return p


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False when the call is unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    r = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if r == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


#: Output directories committed by this process, in order (the CLI tells an interrupt that came
#: after a commit from one that came before).
COMMITTED: list[Path] = []


class OutputDir:
    """A run's output directory, written as one unit (see the module docstring).

    Use as a context manager; :meth:`path` gives where to write each file, :meth:`commit`
    writes the manifest and swaps the run in. Leaving the block without a commit (an error,
    Ctrl-C, SIGTERM turned into ``KeyboardInterrupt`` by the CLI) removes what was written.

    Examples
    --------
    >>> with OutputDir("out") as out:                 # doctest: +SKIP
    ...     table.to_csv(out.path("table.csv"))
    ...     out.commit({"command": "compute"})
    """

    def __init__(self, path: str | os.PathLike, *, resume_key: str | None = None, manifest_name: str = RUN_FILE):
        self.final = check_out_dir(path)
        self.manifest_name = manifest_name
        self.staging: Path | None = None
        self.committed: list[Path] = []
        #: With a key, the staging directory is ``.NAME.resume-KEY``: kept when the run fails or
        #: is interrupted, so that the same run started again finds what was already written
        #: (long matrices); a lock keeps two runs from writing it at once.
        self.resume_key = resume_key
        self._lock = None

    # -- life cycle
    def __enter__(self) -> OutputDir:
        parent = self.final.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputFileError(f"cannot create {str(parent)!r}: {exc.strerror or exc}") from None
        self._recover()
        if self.resume_key is None:
            self.staging = parent / f".{self.final.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        else:
            self.staging = parent / f".{self.final.name}.resume-{self.resume_key}"
        try:
            self.staging.mkdir(exist_ok=self.resume_key is not None)
        except OSError as exc:
            raise InputFileError(f"cannot write into {str(parent)!r}: {exc.strerror or exc}") from None
        if self.resume_key is not None:
            self._take_lock()
        return self

    def _take_lock(self) -> None:
        import fcntl

        assert self.staging is not None
        self._lock = open(self.staging / ".lock", "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            self._lock = None
            self.staging = None
            raise InputFileError(f"another run is writing {str(self.final)!r} right now") from None

    @property
    def resuming(self) -> bool:
        """Whether a resumable staging directory already held files of an earlier attempt."""
        return bool(self.resume_key) and any(p.name != ".lock" for p in self.staging.iterdir()) if self.staging else False

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.resume_key is not None and exc_type is not None and self.staging is not None:
            self._release()  # kept for the next attempt of the same run
            self.staging = None
            return
        self.discard()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def discard(self) -> None:
        """Remove the staging directory (nothing of this run stays)."""
        self._release()
        if self.staging is not None and self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)
        self.staging = None

    def _recover(self) -> None:
        """Clean what killed runs left: stale staging directories, and a swap cut in half."""
        parent, name = self.final.parent, self.final.name
        for d in parent.glob(f".{name}.partial-*"):
            pid = int(d.name.split("-")[1]) if d.name.split("-")[1].isdigit() else -1
            if not pid_alive(pid) or pid == os.getpid():
                shutil.rmtree(d, ignore_errors=True)
        olds = sorted(parent.glob(f".{name}.old-*"))
        for d in olds:
            pid = int(d.name.split("-")[1]) if d.name.split("-")[1].isdigit() else -1
            if pid_alive(pid) and pid != os.getpid():
                continue
            if not self.final.exists():
                os.replace(d, self.final)  # the previous complete run comes back
                log.warning("restored the previous outputs of %s (a run was cut during its commit)", self.final)
            else:
                shutil.rmtree(d, ignore_errors=True)

    # -- writing
    def path(self, name: str) -> Path:
        """Where to write output ``name`` (a relative path) during the run."""
        if self.staging is None:
            raise RuntimeError("OutputDir.path() outside its with-block")
        p = self.staging / name
        if p.resolve().parent != self.staging.resolve() and self.staging.resolve() not in p.resolve().parents:
            raise InvalidParameterError(f"output name {name!r} leaves the output directory")
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def files(self) -> list[str]:
        """Relative names of the files written so far (the lock of a resumable run aside)."""
        if self.staging is None:
            return []
        return sorted(str(p.relative_to(self.staging)) for p in self.staging.rglob("*")
                      if p.is_file() and p.name not in (".lock", self.manifest_name))

    def commit(self, manifest: dict) -> list[Path]:
        """Write ``run.json`` (``manifest`` plus the list of outputs) and swap the run in.

        Returns
        -------
        list of Path
            Final paths of every file of the run, ``run.json`` last.
        """
        if self.staging is None:
            raise RuntimeError("OutputDir.commit() outside its with-block")
        outputs = []
        for name in self.files():
            f = self.staging / name
            outputs.append({"file": name, "bytes": f.stat().st_size, "sha256": sha256_file(f)})
        meta = dict(manifest)
        meta["outputs"] = outputs
        self._release()
        (self.staging / ".lock").unlink(missing_ok=True)
        with open(self.staging / self.manifest_name, "w", encoding="utf-8") as fh:
            json.dump(meta, fh, ensure_ascii=False, indent=2, default=_json_default)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._swap()
        COMMITTED.append(self.final)
        self.committed = [self.final / o["file"] for o in outputs] + [self.final / self.manifest_name]
        return self.committed

    def _swap(self) -> None:
        assert self.staging is not None
        replace_dir(self.staging, self.final)
        self.staging = None


@contextlib.contextmanager
def run_outputs(out_dir: str | os.PathLike, **kw) -> Iterator[OutputDir]:
    """:class:`OutputDir` for a command's writer, with the errors of writing in one line.

    A full disk or a permission problem (``OSError``), or GDAL's way of saying so (pyogrio's and
    rasterio's ``RuntimeError``), becomes :class:`~accessibility.errors.InputFileError` naming the
    directory; nothing of the run is left (see :class:`OutputDir`).

    Examples
    --------
    >>> with run_outputs(out) as o:                       # doctest: +SKIP
    ...     table.to_csv(o.path("table.csv"))
    ...     files = o.commit(run.to_dict())
    """
    try:
        with OutputDir(out_dir, **kw) as out:
            yield out
    except OSError as exc:
        raise InputFileError(f"cannot write the outputs into {str(out_dir)!r}: {exc.strerror or exc}") from None
    except RuntimeError as exc:
        if not type(exc).__module__.startswith(("pyogrio", "rasterio")):
            raise
        raise InputFileError(f"cannot write the outputs into {str(out_dir)!r}: {exc}") from None


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        f = float(o)
        return f if np.isfinite(f) else None
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def replace_dir(staged: Path, final: Path) -> None:
    """Put the complete directory ``staged`` in the place of ``final`` (replaced when it exists).

    An atomic exchange where the system has one (``renameat2``), else two renames: a reader sees
    the old directory or the new one, and at worst, for an instant, none — never a mix.
    """
    if not final.exists():
        os.rename(staged, final)
        return
    if _exchange(staged, final):
        shutil.rmtree(staged, ignore_errors=True)  # now holds the previous directory
        return
    old = final.parent / f".{final.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.rename(final, old)
    os.rename(staged, final)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(path: str | os.PathLike) -> Iterator[Path]:
    """A new hidden sibling directory of ``path`` that replaces it (:func:`replace_dir`) when the
    block succeeds and vanishes when it fails."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.parent / f".{p.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        replace_dir(tmp, p)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def staged_file(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary sibling of ``path`` that replaces it on success, vanishes on failure."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        os.replace(tmp, p)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# --------------------------------------------------------------------------------------------
# parsed tables cached by content

#: Bumped when the cached layout changes.
_TABLE_CACHE_FORMAT = 1


def _frame_to_arrays(df) -> dict[str, np.ndarray]:
    import pandas as pd

    cols, out = [], {}
    for i, c in enumerate(df.columns):
        s = df[c]
        if isinstance(s.dtype, pd.Int64Dtype):
            out[f"c{i}"] = s.fillna(0).to_numpy(np.int64)
            out[f"m{i}"] = s.isna().to_numpy()
            kind = "Int64"
        elif s.dtype.kind in "fiub":
            out[f"c{i}"] = s.to_numpy()
            kind = "num"
        else:
            vals = s.to_numpy(dtype=object)
            miss = pd.isna(vals)
            out[f"c{i}"] = np.where(miss, "", vals).astype(str)
            out[f"m{i}"] = miss
            kind = "str"
        cols.append([str(c), kind])
    out["__cols__"] = np.frombuffer(json.dumps(cols).encode(), dtype=np.uint8)
    return out


def _arrays_to_frame(z):
    import pandas as pd

    cols = json.loads(bytes(z["__cols__"]).decode())
    data = {}
    for i, (name, kind) in enumerate(cols):
        a = z[f"c{i}"]
        if kind == "Int64":
            v = pd.array(a, dtype="Int64")
            v[z[f"m{i}"]] = pd.NA
            data[name] = v
        elif kind == "num":
            data[name] = a
        else:
            o = a.astype(object)
            o[z[f"m{i}"]] = np.nan
            data[name] = o
    df = pd.DataFrame(data)
    for name, kind in cols:
        if kind == "str":
            df[name] = df[name].astype(object)
    return df


def cached_frame(kind: str, key_parts: list[str], build, *, cache_dir: str | os.PathLike | None = None):
    """A parsed table, from a cache keyed by its inputs' content, else built and cached.

    Parameters
    ----------
    kind : str
        Name of the table kind (``bpe-counts`` …); part of the file name.
    key_parts : list of str
        What the result depends on: input sha256s, options, loader version.
    build : callable
        Returns the DataFrame (str, number, bool and nullable Int64 columns).
    cache_dir : path, optional
        :func:`accessibility.settings.default_cache_dir` when omitted.

    Returns
    -------
    pandas.DataFrame
        A damaged or unreadable cache entry is rebuilt, never trusted (CRC of the zip).
    """
    from accessibility.settings import default_cache_dir

    h = hashlib.sha256(f"format={_TABLE_CACHE_FORMAT}\n{kind}\n".encode())
    for part in key_parts:
        h.update(str(part).encode() + b"\n")
    d = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = d / "tables" / f"{kind}-{h.hexdigest()[:24]}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return _arrays_to_frame(z)
        except Exception as exc:  # noqa: BLE001 - any damage means rebuild
            log.warning("cached table %s is unreadable (%s); rebuilding", path, exc)
    df = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with staged_file(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **_frame_to_arrays(df))
    except OSError as exc:
        log.warning("could not cache table %s: %s", path, exc)
    return df
