"""``python -m dunning``: the same as the ``dunning`` command."""

import sys

from .cli import main

sys.exit(main())
