"""One module per command: each takes parsed arguments and returns an exit code."""

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
