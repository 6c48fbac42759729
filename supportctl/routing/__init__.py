"""The routing engine: schedules, rules and assignment. Pure: no I/O, no network, no database."""
