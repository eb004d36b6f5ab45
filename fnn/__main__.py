"""`python -m fnn ...` is the `fnn` command."""

import sys

from fnn.cli import main

sys.exit(main())
