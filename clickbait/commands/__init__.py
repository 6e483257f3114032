"""The command line's commands (`clickbait.cli` builds the parser and runs them), grouped by
what they work on. Each module's `add_parsers` adds its commands' options."""
