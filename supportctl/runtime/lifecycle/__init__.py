"""The conversation as a state machine: pure transitions, one per input.

Every input a conversation takes is a function `on_<input>(frame, ...) -> Transition` that reads
a `Frame` (the stack served, a `Snapshot` of the store, the time) and returns the change without
touching storage: the new state, the audit log with the messages to store and send, the
assignments with their preconditions, timers, notifications. `supportctl.runtime.desk` reads the
snapshot, calls the function, has `Store.apply` write the result in one transaction, and
computes it again when the state changed meanwhile (`Conflict`).

| input | function |
|---|---|
| a customer's message | `inbound.on_message` |
| an agent's reply, template, transfer, close, reopen, note | `agents.on_*` |
| a timer (escalation, auto-close, CSAT timeout) | `system.on_timer` |
| the queue draining to an agent; a shift's end | `system.on_offer`, `system.on_shift_end` |
| the provider closing a window | `system.on_window_closed` |
| a message whose processing kept failing | `system.on_parked` |
"""
