"""``python -m pifnet_engine`` = the ``pifnet-engine`` command."""

from pifnet_engine.cli.main import main

main()
