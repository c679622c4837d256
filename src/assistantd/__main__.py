"""``python -m assistantd serve``."""

import sys

from assistantd.cli import main

sys.exit(main())
