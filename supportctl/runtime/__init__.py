"""The `serve` runtime: conversations, menus, windows, outbox and timers over the store."""
