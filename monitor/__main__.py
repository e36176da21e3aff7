"""``python -m monitor`` is the ``shitstorm`` command."""

import sys

from monitor.cli import main

sys.exit(main())
