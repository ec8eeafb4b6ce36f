"""The one exception type whose message is meant for the user."""


class UserError(Exception):
    """Something the user can fix: the message says what was wrong and what to do."""
