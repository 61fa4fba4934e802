"""The one exception type a user sees as a single line (the CLI prints it and exits non-zero)."""


class AvatarStudioError(Exception):
    """A problem caused by input or environment, explained in one line that names the culprit."""
