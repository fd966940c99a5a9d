"""``python -m wa_gateway``."""

import sys

from .cli import main

sys.exit(main())
