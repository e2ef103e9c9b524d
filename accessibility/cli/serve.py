"""``access serve``: the what-if page of ``access site`` in a browser, on this machine."""

from __future__ import annotations

import ipaddress
import socket
import time

import click

from accessibility.cli._options import (
    cache_dir_option,
    code_changes_option,
    communes_option,
    data_option,
    departements_callback,
    filters_callback,
    friendly_errors,
    osm_option,
    profile_option,
    resolve_inputs,
    service_callback,
    snap_distance_option,
)
from accessibility.cli._options import input_file as _input
from accessibility.cli.site import _load
from accessibility.settings import TIERS

#: Default address: this machine only.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and the loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a one-line error (port taken, unknown address)."""
    from accessibility.errors import InvalidParameterError

    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise InvalidParameterError(f"--host {host!r} is not an address of this machine: {exc.strerror}") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        hint = f": try --port {port + 1}" if exc.errno in (98, 48) else ""
        raise InvalidParameterError(f"cannot listen on {host}:{port} ({exc.strerror}){hint}") from None
    sock.setblocking(False)
    return sock


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help="Address to listen on. The default answers this machine only; 0.0.0.0 opens the page to the network.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True, help="TCP port (0: any free port).")
@click.option("--service", "service", default="france-services", show_default=True, callback=service_callback,
              metavar="SOURCE", help="france-services, mediation, cnfs, bpe:TYPEQU (e.g. bpe:D201), or a CSV/GeoPackage of points.")
@click.option("--filter", "filters", multiple=True, callback=filters_callback, metavar="COL=V1,V2",
              help="Keep the sites whose COL is one of the values (repeatable), e.g. format_fs=Fixe.")
@click.option("--departement", "departements", multiple=True, metavar="CODES", callback=departements_callback,
              help="Départements analysed. Default: the data directory's (04,05).")
@click.option("--threshold", type=click.FloatRange(0.0, min_open=True), default=30.0, show_default=True,
              help="Minutes: a commune beyond it is counted (the France services commitment is 30).")
@click.option("--tier", type=click.Choice(TIERS), default=None,
              help="Also colour the communes by their mean time to the equipments of this gamme (as `access compute` "
                   "measures it; the page opens with it and can switch to the time to the nearest site).")
@data_option
@osm_option
@communes_option
@click.option("--bpe", "bpe_path", help="BPE counts (for bpe: sources and --tier). Default: the data directory's.",
              **_input)
@click.option("--gammes", "gammes_path", help="Gamme table (for --tier). Default: the data directory's.", **_input)
@click.option("--polygons", "polygons_path", help="Commune polygons. Default: the data directory's.", **_input)
@code_changes_option
@snap_distance_option("Places (and clicked points)")
@click.option("--no-basemap", is_flag=True, help="Never try the OpenStreetMap tiles (the page works without them).")
@cache_dir_option
@profile_option
@friendly_errors
def serve(host, port, service, filters, departements, threshold, tier, data_dir, osm, communes_path, bpe_path,
          gammes_path, polygons_path, changes_path, snap_distance, no_basemap, cache_dir, profile):
    """A what-if page in the browser: click a commune to add a site, a site to remove it.

    Loads the graph, the communes and the sites once (as `access site` does), then serves the
    page and its JSON API until Ctrl-C. Listens on 127.0.0.1 (this machine only) unless --host
    says otherwise.
    """
    import uvicorn

    from accessibility.analyses.siting import SitingModel
    from accessibility.outputs.manifest import Run
    from accessibility.web.app import LOOPBACK_HOSTS, create_app
    from accessibility.web.planner import OSM_BASEMAP, Planner

    loopback = is_loopback(host)
    sock = bind_socket(host, port)  # before the loading: a taken port fails at once
    try:
        if not loopback:
            click.echo(f"Warning: listening on {host}:{sock.getsockname()[1]}, not on 127.0.0.1: anyone who can reach "
                       "this machine can use the page and its API (no password). Use the default --host 127.0.0.1 "
                       "unless you mean it.", err=True)
        t0 = time.perf_counter()
        run = Run("serve")
        files, dd = resolve_inputs(data_dir, {"osm": osm, "communes": communes_path, "bpe": bpe_path,
                                              "gammes": gammes_path, "polygons": polygons_path,
                                              "code_changes": changes_path}, command="site")
        with run.capture_warnings():
            ctx = _load(run, files, dd, service, filters, (None, None, None, None), departements, snap_distance,
                        cache_dir, profile)
            model = SitingModel(ctx["graph"], ctx["origins"], ctx["sites"], threshold_min=threshold)
            gamme = _gamme_colouring(run, files, ctx, tier, snap_distance) if tier else None
            shown = "; ".join(c + "=" + ",".join(v) for c, v in filters)
            planner = Planner(model, polygons=ctx["polygons"], title=service.label_fr + (f" ({shown})" if filters else ""),
                              departements=ctx["departements"], max_distance_m=snap_distance,
                              basemap=None if no_basemap else OSM_BASEMAP, gamme=gamme)
            unplaced = len(ctx["unplaced_sites"])
            click.echo(f"Loaded {len(model.communes)} communes and {model.sites.n_placed} sites"
                       + (f" ({unplaced} more in the extract could not be placed)" if unplaced else "")
                       + f" in {time.perf_counter() - t0:.1f} s; preparing the answers…")
            warm = planner.warm()
        app = create_app(planner, allowed_hosts=LOOPBACK_HOSTS if loopback else None)
        bound = sock.getsockname()
        shown_host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        url = f"http://{shown_host}:{bound[1]}/"
        if loopback:
            click.echo(f"Ready in {warm:.1f} s more. Open {url} — listening on {shown_host} only (this machine); "
                       "Ctrl-C to stop.")
        else:
            click.echo(f"Ready in {warm:.1f} s more: listening on {shown_host}:{bound[1]} (open to the network; from "
                       f"this machine: http://127.0.0.1:{bound[1]}/ if it listens there too); Ctrl-C to stop.")
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                               server_header=False, timeout_graceful_shutdown=5))
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C / SIGTERM it caught: the normal end
            pass
        click.echo("Stopped.")
    finally:
        sock.close()


def _gamme_colouring(run, files, ctx, tier: str, snap_distance: float):
    """The gamme's mean time per commune, by ``access compute``'s own steps (``--tier``)."""
    from accessibility.analyses.zones import compute_access
    from accessibility.inputs.communes import load_code_changes
    from accessibility.inputs.services import load_bpe, load_gammes
    from accessibility.web.planner import GammeColouring

    with run.stage("read"):
        bpe = load_bpe(files["bpe"], code_changes=load_code_changes(files["code_changes"]))
        run.add_input("bpe", files["bpe"])
        gammes = load_gammes(files["gammes"])
        run.add_input("gammes", files["gammes"])
    result = compute_access(ctx["graph"], ctx["communes"], bpe, gammes, departements=ctx["departements"], tiers=(tier,),
                            methods=("mean",), max_distance_m=snap_distance, run=run)
    return GammeColouring.from_access(result, tier)
