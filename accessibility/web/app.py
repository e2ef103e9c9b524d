"""The ASGI application of ``access serve`` (Starlette), built around an already loaded model.

Routes::

    GET  /                        the page (static/index.html)
    GET  /static/...              the page's files, from the package only
    GET  /api/health              {"status": "ok"}
    GET  /api/base                the situation today, classes, limits
    GET  /api/communes.geojson    commune polygons
    POST /api/scenario            a what-if -> per-commune times after, totals, crossings
    POST /api/optimize            a what-if + k + objective -> best next sites (greedy, exact)
    POST /api/export/{csv,gpkg,png}  a what-if -> a file

Every answer carries ``Server-Timing: app;dur=MS`` (time in the server, from the request's
arrival to the answer's first byte; ``compute;dur=MS`` for the model's share) and the security
headers of :data:`SECURITY_HEADERS`. Errors are JSON ``{"error": {"status": 4xx, "message":
"..."}}``, never a traceback. A body larger than :data:`~accessibility.web.api.MAX_BODY_BYTES`
is refused with 413 after being read and dropped (up to :data:`DRAIN_MAX_BYTES`, like nginx's
lingering close, so that the client reads the answer rather than a reset connection).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from accessibility.errors import AccessibilityError, InvalidParameterError
from accessibility.web.api import MAX_BODY_BYTES, RequestError, parse_json_body, parse_optimize, parse_what_if
from accessibility.web.planner import Planner, dumps

__all__ = ["create_app", "STATIC_DIR", "SECURITY_HEADERS", "DRAIN_MAX_BYTES", "LOOPBACK_HOSTS"]

log = logging.getLogger(__name__)

#: The page's files, inside the package.
STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Past this many bytes, an oversized body is no longer read: the answer goes out and the
#: connection is closed.
DRAIN_MAX_BYTES = 16 * 1024 * 1024
#: Host names a loopback server answers to (anything else: DNS rebinding, refused).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
#: Headers on every answer.
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def _csp(basemap: dict | None) -> str:
    tiles = ""
    if basemap:
        from urllib.parse import urlsplit

        u = urlsplit(basemap["url"])
        tiles = f" {u.scheme}://{u.netloc}"
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob:{tiles}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'none'")


def _error_body(status: int, message: str) -> bytes:
    return dumps({"error": {"status": status, "message": message}})


async def _send_error(send, status: int, message: str, *, close: bool = False) -> None:
    body = _error_body(status, message)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Outermost layer: timing and security headers, the Host check, the body-size limit.

    The body is read here, at most ``max_body`` bytes kept, then handed to the application;
    a larger one is read and dropped up to :data:`DRAIN_MAX_BYTES` and answered with 413.
    """

    def __init__(self, app, *, max_body: int = MAX_BODY_BYTES, allowed_hosts: Iterable[str] | None = None,
                 csp: str = ""):
        self.app = app
        self.max_body = int(max_body)
        self.allowed_hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
        extra = dict(SECURITY_HEADERS)
        if csp:
            extra["content-security-policy"] = csp
        self.extra = [(k.encode(), v.encode()) for k, v in extra.items()]

    def _host_ok(self, scope) -> bool:
        if self.allowed_hosts is None:
            return True
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self.allowed_hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()

        async def timed_send(message):
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - t0) * 1000.0
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server-timing"]
                prior = [v for k, v in message.get("headers", []) if k.lower() == b"server-timing"]
                timing = b", ".join(prior + [f"app;dur={ms:.1f}".encode()])
                message = {**message, "headers": headers + [(b"server-timing", timing)] + self.extra}
            await send(message)

        if not self._host_ok(scope):
            return await _send_error(timed_send, 400, "hôte refusé : ce serveur ne répond qu'à 127.0.0.1 ou localhost")
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        too_big = False
        if declared is not None:
            try:
                too_big = int(declared) > self.max_body
            except ValueError:
                return await _send_error(timed_send, 400, "en-tête Content-Length illisible", close=True)
        chunks, size, more = [], 0, True
        while more and not too_big:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            more = message.get("more_body", False)
            if size > self.max_body:
                too_big = True
            else:
                chunks.append(body)
        if too_big:
            drained = size
            while more and drained <= DRAIN_MAX_BYTES:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                drained += len(message.get("body", b""))
                more = message.get("more_body", False)
            return await _send_error(
                timed_send, 413,
                f"requête trop grosse : {self.max_body // 1024} ko au plus", close=more)
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay_receive():
            if replay:
                return replay.pop()
            return await receive()

        await self.app(scope, replay_receive, timed_send)


def _json(obj_or_bytes, *, status: int = 200, compute_ms: float | None = None) -> Response:
    body = obj_or_bytes if isinstance(obj_or_bytes, bytes) else dumps(obj_or_bytes)
    headers = {"cache-control": "no-store"}
    if compute_ms is not None:
        headers["server-timing"] = f"compute;dur={compute_ms:.1f}"
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _timed(fn: Callable, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t0) * 1000.0


def create_app(planner: Planner, *, allowed_hosts: Iterable[str] | None = None,
               max_body: int = MAX_BODY_BYTES) -> Starlette:
    """The page and its API around ``planner`` (a :class:`Planner`: a loaded model, polygons).

    Parameters
    ----------
    planner : Planner
    allowed_hosts : iterable of str, optional
        Host names (``Host`` header, port aside) answered; None: any. ``access serve`` on a
        loopback address passes :data:`LOOPBACK_HOSTS` (a page from elsewhere that rebinds a
        name to 127.0.0.1 is refused).
    max_body : int
        Largest request body (bytes).
    """
    if not isinstance(planner, Planner):
        raise InvalidParameterError(f"planner must be an accessibility.web.Planner, got {type(planner).__name__}")
    area = planner.area

    async def body_json(request: Request) -> dict:
        return parse_json_body(await request.body(), request.headers.get("content-type"))

    def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                            headers={"cache-control": "no-cache"})

    def health(request: Request) -> Response:
        return _json({"status": "ok"})

    def base(request: Request) -> Response:
        return _json(planner.base_json)

    def geojson(request: Request) -> Response:
        return Response(planner.geojson, media_type="application/geo+json", headers={"cache-control": "no-cache"})

    async def scenario(request: Request) -> Response:
        w = parse_what_if(await body_json(request), area)
        out, ms = await _threaded(_timed, planner.scenario, w)
        return _json(out, compute_ms=ms)

    async def optimize(request: Request) -> Response:
        w, k, objective = parse_optimize(await body_json(request), area)
        out, ms = await _threaded(_timed, planner.optimize, w, k, objective)
        return _json(out, compute_ms=ms)

    async def export(request: Request) -> Response:
        fmt = request.path_params["fmt"]
        if fmt not in ("csv", "gpkg", "png"):
            raise RequestError(f"format d'export inconnu {fmt[:20]!r} : csv, gpkg ou png", 404)
        w = parse_what_if(await body_json(request), area)
        out, ms = await _threaded(_timed, planner.export, w, fmt)
        return Response(out.content, media_type=out.media_type, headers={
            "content-disposition": f'attachment; filename="{out.filename}"', "cache-control": "no-store",
            "server-timing": f"compute;dur={ms:.1f}"})

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/api/health", health, methods=["GET"]),
        Route("/api/base", base, methods=["GET"]),
        Route("/api/communes.geojson", geojson, methods=["GET"]),
        Route("/api/scenario", scenario, methods=["POST"]),
        Route("/api/optimize", optimize, methods=["POST"]),
        Route("/api/export/{fmt}", export, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR, follow_symlink=False), name="static"),
    ]

    async def http_error(request: Request, exc: HTTPException) -> Response:
        msg = {404: "introuvable", 405: "méthode non admise ici"}.get(exc.status_code, str(exc.detail))
        return _json({"error": {"status": exc.status_code, "message": f"{msg} : {request.url.path[:200]}"}},
                     status=exc.status_code)

    async def request_error(request: Request, exc: RequestError) -> Response:
        return _json({"error": {"status": exc.status, "message": str(exc)}}, status=exc.status)

    async def engine_error(request: Request, exc: AccessibilityError) -> Response:
        return _json({"error": {"status": 422, "message": str(exc)}}, status=422)

    async def internal_error(request: Request, exc: Exception) -> Response:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return _json({"error": {"status": 500, "message": f"erreur interne ({type(exc).__name__}) : voir le journal du serveur"}},
                     status=500)

    return Starlette(
        routes=routes,
        middleware=[Middleware(GuardMiddleware, max_body=max_body, allowed_hosts=allowed_hosts, csp=_csp(planner.basemap))],
        exception_handlers={HTTPException: http_error, RequestError: request_error, AccessibilityError: engine_error,
                            Exception: internal_error},
    )


async def _threaded(fn, *args):
    """Run blocking model work off the event loop (the planner serialises it)."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)
