"""`python -m clickbait ...`: the same as the `clickbait` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
