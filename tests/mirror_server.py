"""A real HTTP server on 127.0.0.1 serving a directory laid out as a data mirror, for the fetch
tests. It can answer 404s, cut a transfer in the middle, stall, and serve canned answers."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import shutil
import threading
import time
from pathlib import Path

from accessibility.inputs.datasets.sources import SOURCES

MIRROR = Path(__file__).resolve().parent / "data" / "datasets" / "mirror"
NPM_TGZ = "registry.npmjs.org/@etalab/decoupage-administratif/-/decoupage-administratif-6.0.0.tgz"


class _State:
    def __init__(self, root: Path):
        self.root = root
        self.cut_after: dict[str, int] = {}  # path -> bytes sent before the connection is closed
        self.stall: dict[str, float] = {}  # path -> seconds of silence after the first bytes
        self.canned: dict[str, tuple[int, bytes, str]] = {}  # path -> (status, body, content type)
        self.requests: list[str] = []
        self.lock = threading.Lock()


class _Handler(http.server.BaseHTTPRequestHandler):
    state: _State

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802
        st = self.state
        path = self.path.split("?", 1)[0].lstrip("/")
        with st.lock:
            st.requests.append(path)
        if path in st.canned:
            status, body, ctype = st.canned[path]
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        f = (st.root / path).resolve()
        if not f.is_file() or st.root.resolve() not in f.parents:
            self.send_error(404, "Not Found")
            return
        data = f.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if path in st.cut_after:
            self.wfile.write(data[: st.cut_after[path]])
            self.wfile.flush()
            self.close_connection = True
            return
        if path in st.stall:
            self.wfile.write(data[:1000])
            self.wfile.flush()
            time.sleep(st.stall[path])
        self.wfile.write(data if path not in st.stall else data[1000:])


class MirrorServer:
    """``with MirrorServer(root) as srv: srv.url`` — serves ``root`` on 127.0.0.1, a free port."""

    def __init__(self, root: Path = MIRROR):
        self.state = _State(Path(root))
        handler = type("H", (_Handler,), {"state": self.state})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def copy_mirror(dest: Path) -> Path:
    """A private copy of the fixture mirror (tests that delete or add files use it)."""
    shutil.copytree(MIRROR, dest)
    return dest


def fixture_catalogue(root: Path = MIRROR):
    """The real catalogue, with the npm tarball's pinned sha1 replaced by the fixture's own."""
    sha1 = hashlib.sha1((root / NPM_TGZ).read_bytes()).hexdigest()
    return [dataclasses.replace(s, checksum=f"sha1:{sha1}") if s.name == "code_changes" else s for s in SOURCES]
