"""The ``access`` click group. Subcommands are imported lazily so ``access --help`` is instant."""

from __future__ import annotations

import importlib
import logging
import signal

import click

#: command name -> (module, attribute); loaded only when the command runs or help lists it.
_COMMANDS = {
    "graph": ("accessibility.cli.graph", "graph"),
    "route": ("accessibility.cli.route", "route"),
    "compute": ("accessibility.cli.compute", "compute"),
    "site": ("accessibility.cli.site", "site"),
    "serve": ("accessibility.cli.serve", "serve"),
    "data": ("accessibility.cli.data", "data"),
    "fragility": ("accessibility.cli.fragility", "fragility"),
    "isochrones": ("accessibility.cli.isochrones", "isochrones"),
    "matrix": ("accessibility.cli.matrix", "matrix"),
    "diagnostic": ("accessibility.cli.diagnostic", "diagnostic"),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(_COMMANDS)

    def get_command(self, ctx, name):
        if name not in _COMMANDS:
            return None
        mod, attr = _COMMANDS[name]
        return getattr(importlib.import_module(mod), attr)

    def invoke(self, ctx):
        # Ctrl-C or SIGTERM outside a command's own handler (while options are checked, or as
        # it returns): the same message and status as inside it, not click's "Aborted!"
        from accessibility._io import COMMITTED

        commits = len(COMMITTED)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            done = COMMITTED[commits:]
            click.echo(f"Interrupted after the outputs were written: {done[-1]} is complete." if done
                       else "Interrupted: nothing of this run was kept.", err=True)
            ctx.exit(130)


@click.group(cls=_LazyGroup)
@click.version_option(package_name="accessibility")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
def cli(verbose: int, quiet: bool) -> None:
    """Car access times from French communes to everyday services, and the zones grises."""
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    _terminate_like_interrupt()


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def _terminate_like_interrupt() -> None:
    """SIGTERM unwinds the run like Ctrl-C: temporary outputs and cache files are removed."""
    try:
        signal.signal(signal.SIGTERM, _sigterm)
    except ValueError:  # not the main thread (e.g. a test runner): nothing to do
        pass


if __name__ == "__main__":  # python -m accessibility.cli.main
    cli()
