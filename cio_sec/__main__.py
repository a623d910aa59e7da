"""Entry point for ``python -m cio_sec``."""

from cio_sec.cli import main

main()
