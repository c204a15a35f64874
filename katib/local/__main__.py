"""``python -m katib.local run EXPERIMENT.yaml --local``."""

import sys

from katib.local.cli import main

sys.exit(main())
