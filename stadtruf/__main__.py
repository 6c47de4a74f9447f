"""`python -m stadtruf …`: the `stadtruf` command without its console script."""

import sys

from stadtruf.cli import main

sys.exit(main())
