"""Entry point of ``python -m sklearn_softmax`` and the ``sklearn-softmax`` script."""

import sys

from ._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
