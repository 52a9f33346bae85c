"""``python -m trio_binance``: the ``trio-binance`` command."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
