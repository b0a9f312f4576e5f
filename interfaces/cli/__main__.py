"""``python -m interfaces.cli``: the same as the ``ledgerflow`` console script."""

from interfaces.cli.app import main

main()
