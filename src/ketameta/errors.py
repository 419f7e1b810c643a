"""One exception type for user mistakes (bad data, bad config).

The CLI turns it into a single line on stderr and a non-zero exit; it never shows a traceback.
"""

from __future__ import annotations


class InputError(Exception):
    """A problem with the user's data or configuration.

    Parameters
    ----------
    message:
        What rule was broken, in words a user can act on.
    file:
        Path of the offending file, as the user named it.
    line:
        1-based line number in the file (the header is line 1), if the problem is in one row.
    column:
        CSV column, if the problem is in one field.
    key:
        Config key path such as ``frequentist.methods[1]``, if the problem is in the config.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column '{self.column}'")
        if self.key:
            where.append(f"key '{self.key}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message
