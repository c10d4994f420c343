"""``python -m core``: the BundleLab command line (see ``core.cli``)."""

import sys

from core.cli import main

sys.exit(main())
