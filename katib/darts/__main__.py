"""``python -m katib.darts``: see :mod:`katib.darts.cli`."""

from katib.darts.cli import main

raise SystemExit(main())
