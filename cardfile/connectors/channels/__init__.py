"""The message channels; importing this package registers them with the outbox."""

from . import email, in_app, sms, telegram
from .base import MASK, Channel, settings_masked, settings_merged

__all__ = [
    "MASK",
    "Channel",
    "email",
    "in_app",
    "settings_masked",
    "settings_merged",
    "sms",
    "telegram",
]
