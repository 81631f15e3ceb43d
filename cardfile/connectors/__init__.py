"""The outside world: the channels messages go out through (email, SMS, Telegram, in-app)."""
