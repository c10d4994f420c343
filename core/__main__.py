"""``python -m core``: the BundleLab command line (see ``core.cli``)."""

import sys

from .cli import main

sys.exit(main())
