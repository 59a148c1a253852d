"""``python -m ftlineage``."""

import sys

from ftlineage.cli import main

sys.exit(main())
