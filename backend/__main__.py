"""`python -m backend`: the RadOps command line."""

import sys

from backend.cli import main

sys.exit(main())
