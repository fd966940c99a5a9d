#!/usr/bin/env python3
"""Run wa-gateway from a source checkout: ``python3 gateway.py [init|check-config|--version]``."""

import sys

from wa_gateway.cli import main

if __name__ == "__main__":
    sys.exit(main())
