"""Helpers of the ``access serve`` tests: the planner of the embedded data (loaded the way the
command loads it), a real uvicorn server on 127.0.0.1 in a thread, a raw HTTP client, and
where test artefacts (screenshots, latencies) go."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Screenshots and measured latencies land here (CI keeps the directory as the run's artefacts).
ARTIFACTS = Path(os.environ.get("ACCESS_TEST_ARTIFACTS", REPO / "test-artifacts"))
#: Debian's chromium and chromedriver (never a downloaded browser); None when not installed.
CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)
CHROMEDRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)


@contextmanager
def chromium_driver(*, host_rules: str = "MAP * ~NOTFOUND", downloads: bool = False) -> Iterator:
    """A headless Chromium driven by selenium, with a throw-away profile and the browser's console
    log kept; skips the test when chromium, chromedriver or selenium is missing. ``host_rules``
    says which hosts resolve (none by default: no test reaches the network); ``downloads`` gives
    the driver a ``downloads`` directory that files are saved to without a prompt."""
    import pytest

    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("needs selenium (pip install selenium)")
    profile = tempfile.mkdtemp(prefix="access-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              f"--user-data-dir={profile}", "--window-size=1366,768", "--lang=fr-FR",
              f"--host-resolver-rules={host_rules}"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    folder = Path(profile) / "downloads"
    if downloads:
        folder.mkdir()
        opts.add_experimental_option("prefs", {"download.default_directory": str(folder),
                                               "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    if downloads:
        driver.downloads = folder
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def load_planner(cache_dir, *, threshold: float = 30.0, tier: str | None = None):
    """The :class:`Planner` ``access serve [--tier TIER]`` builds on the embedded data (France services)."""
    from accessibility.analyses.siting import SitingModel
    from accessibility.cli._options import resolve_inputs
    from accessibility.cli.serve import _gamme_colouring
    from accessibility.cli.site import _load
    from accessibility.inputs.points import parse_service
    from accessibility.outputs.manifest import Run
    from accessibility.settings import SNAP_MAX_DISTANCE_M
    from accessibility.web import Planner

    files, dd = resolve_inputs(None, {"osm": None, "communes": None, "bpe": None, "gammes": None, "polygons": None,
                                      "code_changes": None}, command="site")
    service = parse_service("france-services")
    run = Run("serve")
    ctx = _load(run, files, dd, service, (), (None,) * 4, None, SNAP_MAX_DISTANCE_M, cache_dir, None)
    model = SitingModel(ctx["graph"], ctx["origins"], ctx["sites"], threshold_min=threshold)
    gamme = _gamme_colouring(run, files, ctx, tier, SNAP_MAX_DISTANCE_M) if tier else None
    return Planner(model, polygons=ctx["polygons"], title=service.label_fr, departements=ctx["departements"],
                   basemap=None, gamme=gamme)


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 (a free port) in a thread, for a ``with`` block."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="error", access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def request(port: int, method: str, path: str, body: bytes | dict | None = None, *,
            content_type: str = "application/json", headers: dict | None = None, timeout: float = 30.0):
    """One HTTP request (stdlib: the path is sent as given, never normalised).

    Returns ``(status, headers dict with lower-case names, body bytes)``.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        h = {"Content-Type": content_type} if body is not None else {}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def server_ms(headers: dict) -> float:
    """The ``app`` duration of a ``Server-Timing`` header (milliseconds)."""
    for part in headers.get("server-timing", "").split(","):
        name, _, rest = part.strip().partition(";")
        if name == "app":
            return float(rest.split("=", 1)[1])
    raise AssertionError(f"no app duration in Server-Timing: {headers.get('server-timing')!r}")


def percentile(values, q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def record(name: str, data: dict) -> Path:
    """Write measured numbers as ``ARTIFACTS/name.json`` (and return the path)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    p = ARTIFACTS / f"{name}.json"
    p.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return p
