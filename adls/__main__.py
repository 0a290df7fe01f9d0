"""`python -m adls ...` is `adls ...` (a job on a cluster runs it so, from the shipped folder)."""

import sys

from adls.cli import main

sys.exit(main())
