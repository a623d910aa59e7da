"""Entry point for ``python -m cio_sec``."""

from cio_sec.fastpath import main

main()
