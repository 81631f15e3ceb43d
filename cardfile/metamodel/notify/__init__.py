"""Reminders on date fields and notification rules on record events.

Definitions (`models`, written by `services`, read by `selectors`), the due-reminder scan
(`scan`, timing in `timing`), rules fired by record events (`rules`), what a message template
sees of a record (`context`), who receives it (`recipients`) and the in-process scheduler of the
embedded default (`scheduler`). Messages leave through the delivery outbox
(`cardfile.core.deliveries`), after commit.
"""
