"""Records and values as a user reads them, the same on every screen (lists, boards, cards,
history, conflicts, search): titles of records and names of users (`titles`), values as text
(`values`), choice colours (`choices`), and which entities have screens (`entities`)."""

from .choices import Badge, choice_badge, choice_colour, choices_of
from .entities import screen_entity
from .titles import Titles
from .values import LEFT_TO_RIGHT_TYPES, linked_ids, raw_text, stored_text, value_text

__all__ = [
    "LEFT_TO_RIGHT_TYPES",
    "Badge",
    "Titles",
    "choice_badge",
    "choice_colour",
    "choices_of",
    "linked_ids",
    "raw_text",
    "screen_entity",
    "stored_text",
    "value_text",
]
