"""``python -m wa_gateway``."""

import sys

from wa_gateway.cli import main

sys.exit(main())
