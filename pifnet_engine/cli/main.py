"""The ``pifnet-engine`` command group, and how errors and signals become exit codes.

Inside a command, :func:`~pifnet_engine.cli.boundary.guarded` turns every failure into one
``Error:`` line (or one JSON ``error`` event with ``--progress json``) and its exit code (docs/cli.md);
Ctrl-C exits 130 and SIGTERM 143, after the ``finally`` blocks removed every temporary file. Here,
:func:`main` does the same for what happens before a command runs (a click usage error: its
``--progress`` is then read from the raw arguments, which click could not parse).
"""

from __future__ import annotations

import importlib
import sys

import click

from pifnet_engine import __version__
from pifnet_engine.errors import PifnetError
from pifnet_engine.progress import Reporter, make_reporter
from pifnet_engine.stopping import Terminated, install_handlers


#: Each command's module and function, imported when the command runs (or --help lists it): the
#: report and compare commands pull in scipy and the report builder (~0.4 s of a 1.2 s start-up,
#: ``python -X importtime``), which ``fuse --no-report``, ``info`` or ``--version`` never use.
COMMANDS = {
    "fuse": "pifnet_engine.cli.fuse:fuse",
    "info": "pifnet_engine.cli.info:info",
    "compare": "pifnet_engine.cli.compare:compare",
    "report": "pifnet_engine.cli.report:report",
    "weights": "pifnet_engine.cli.weights:weights",
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, name = target.split(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pifnet-engine")
@click.option("--debug", is_flag=True, envvar="PIFNET_DEBUG",
              help="Show the Python traceback of an unexpected failure (also PIFNET_DEBUG=1).")
def cli(debug: bool) -> None:
    """Fuse a low-resolution hyperspectral raster (HSI) with a high-resolution multispectral
    raster (MSI) of the same place into a georeferenced high-resolution HSI on the MSI's grid."""


def _reporter_from_argv(argv: list[str]) -> Reporter:
    """The reporter an error should go to, judged from ``--progress`` in ``argv``."""
    kind = None
    for i, arg in enumerate(argv):
        if arg == "--progress" and i + 1 < len(argv):
            kind = argv[i + 1]
        elif arg.startswith("--progress="):
            kind = arg.split("=", 1)[1]
    return make_reporter("json" if kind == "json" else "none")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    install_handlers()
    try:
        # Not standalone, click returns (not raises) the code of a click.exceptions.Exit, which is
        # how a guarded command ends after reporting its error.
        code = cli.main(args=args, prog_name="pifnet-engine", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _reporter_from_argv(args).error(exc.format_message(), exc.exit_code)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _reporter_from_argv(args).error("interrupted; nothing was written", 130)
        sys.exit(130)
    except PifnetError as exc:
        _reporter_from_argv(args).error(str(exc), exc.exit_code)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _reporter_from_argv(args).error("interrupted (Ctrl-C); nothing was written", 130)
        sys.exit(130)
    except Terminated:
        _reporter_from_argv(args).error("terminated (SIGTERM); nothing was written", 143)
        sys.exit(143)
    sys.exit(code if isinstance(code, int) else 0)
