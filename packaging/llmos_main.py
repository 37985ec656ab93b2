"""Entry point of the frozen bundle: the same ``main`` as the ``llmos-desktop`` script."""

import multiprocessing
import sys

from desktop.app import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
