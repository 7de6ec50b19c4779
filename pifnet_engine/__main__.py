"""``python -m pifnet_engine`` = the ``pifnet-engine`` command."""

from .cli.main import main

main()
