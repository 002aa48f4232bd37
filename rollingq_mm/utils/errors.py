"""Exceptions whose message reads well in a traceback."""


class ReadableKeyError(KeyError):
    """A KeyError whose message prints as written.

    ``KeyError`` prints the repr of its argument (quotes escaped, newlines as
    ``\\n``); a sentence that tells the user what to fix should print as a
    sentence.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''
