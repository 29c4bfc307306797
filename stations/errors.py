"""Every error class of yizhan, in one place (as OSMnx keeps its own in ``_errors.py``).

Two families:

- :class:`InputError`: something a user gave us is wrong (a parameter, a file, a row of a file). It carries
  what a person needs to fix it: ``param`` (the request parameter or CLI option), ``row`` and ``column``
  (as a spreadsheet shows them: the header is row 1), ``errors`` (a list of :class:`RowError` for files
  with many bad rows) and an HTTP ``status`` (400 unless said otherwise). The web layer answers every
  :class:`InputError` with one JSON shape (``webmap.errors``); the CLI prints it and exits with 2.
- :class:`YizhanError` subclasses that are not input errors: the registry cannot be opened or written, no
  CJK font is installed. These are the operator's to fix, not the user's.

Messages are English text with optional ``%(name)s`` placeholders filled from keyword arguments: the
template (``exc.template``) is also a msgid that the web layer can translate into the page's language
(``webmap.errors``), so this package stays free of any web framework.

Nothing here parses its own message to find the parameter: whoever raises says which one it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

__all__ = [
    "YizhanError", "InputError", "RowError", "LimitError", "TimeLimitError",
    "ImportFileError", "DemandFileError", "CandidateFileError", "PrintError", "SitingError",
    "HoursParseError", "UnknownServiceError", "ExportError", "NetworkBuildError", "NetworkError",
    "AccessError", "EditConflictError",
    "RegistryError", "CJKFontError",
]


class YizhanError(Exception):
    """The base of every error yizhan raises on purpose."""


@dataclass(frozen=True)
class RowError:
    """One bad cell of a user's file: ``row`` as a spreadsheet shows it (header = row 1; features of a
    GeoJSON or GeoPackage count from 1), ``column`` the header as written in the file."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"

    def to_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "reason": self.reason}


class InputError(YizhanError, ValueError):
    """Bad input from a user: a parameter, a file or rows of a file.

    ``message`` may hold ``%(name)s`` placeholders filled from ``values`` (keyword arguments); ``str(exc)``
    is the filled message, decorated by subclasses (a row prefix, a summary of row errors).
    """

    #: HTTP status when the web layer answers this error (413 for "too large" limits, 404 for unknown ids)
    status: int = 400

    def __init__(self, message: str, *, param: str | None = None, row: int | None = None,
                 column: str | None = None, errors: Iterable[RowError] = (), status: int | None = None,
                 **values):
        self.template = message
        self.values = values
        self.message = message % values if values else message
        self.param = param
        self.row = row
        self.column = column
        self.errors = list(errors or ())
        if status is not None:
            self.status = status
        super().__init__(self.render(self.message))

    def render(self, message: str) -> str:
        """The full text for ``message`` (already translated or not): subclasses add the row or the rows."""
        return message

    def to_dict(self, message: str | None = None, max_rows: int = 200) -> dict:
        """The JSON error body's inner object: ``parameter``, ``message`` and, where they apply, ``row``,
        ``column`` and ``rows`` (at most ``max_rows`` of them)."""
        body: dict = {"parameter": self.param, "message": self.render(message if message is not None else self.message)}
        if self.row is not None:
            body["row"] = self.row
        if self.column is not None:
            body["column"] = self.column
        if self.errors:
            body["rows"] = [e.to_dict() for e in self.errors[:max_rows]]
        return body


class LimitError(InputError):
    """A request larger than a documented limit (rows, cells, pixels, bytes, seconds): refused before the
    work starts. The message says which limit and what to do instead. HTTP 413 unless said otherwise."""

    status = 413


class TimeLimitError(InputError):
    """A computation stopped at its wall-clock limit (:class:`stations.budget.Deadline`). The message names
    the limit in seconds and what to ask instead (a smaller radius, fewer sites, a smaller file). HTTP 400,
    as the greedy recommendation's run-time limit has always answered."""


def _row_prefixed(row: int | None, message: str) -> str:
    return f"row {row}: {message}" if row is not None else message


def _with_rows(message: str, errors: list[RowError], shown: int = 10) -> str:
    if not errors:
        return message
    text = "; ".join(str(e) for e in errors[:shown])
    more = f"; ... and {len(errors) - shown} more" if len(errors) > shown else ""
    return f"{message}: {text}{more}"


class ImportFileError(InputError):
    """A station file as a whole cannot be read (missing, wrong format, no usable columns, empty)."""

    def __init__(self, message: str, *, param: str | None = "file", **kw):
        super().__init__(message, param=param, **kw)


class DemandFileError(InputError):
    """A user demand file cannot be used; ``row`` is the 1-based row where one applies (CSV: header = row 1),
    ``column`` the offending column. ``str()`` starts with ``row N:`` when there is a row."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None, *,
                 param: str | None = "file", **kw):
        super().__init__(message, param=param, row=row, column=column, **kw)

    def render(self, message: str) -> str:
        return _row_prefixed(self.row, message)


class CandidateFileError(InputError):
    """A candidate-site file cannot be used; ``errors`` lists the bad rows (:class:`RowError`)."""

    def __init__(self, message: str, errors: Iterable[RowError] | None = None, *, param: str | None = "file", **kw):
        super().__init__(message, param=param, errors=errors or (), **kw)

    def render(self, message: str) -> str:
        return _with_rows(message, self.errors)


class PrintError(InputError):
    """A bad argument for a map sheet or the atlas; ``param`` names it (``area``, ``paper``,
    ``orientation``, ``layers``, ``radius``, ``symbols``, ``dpi``, ``out``)."""

    def __init__(self, message: str, param: str | None = None, **kw):
        super().__init__(message, param=param, **kw)


class SitingError(InputError):
    """A siting request that cannot be answered (bad parameter, nothing to choose from, too large);
    ``param`` names the parameter to change (``n``, ``target_pct``, ``radius``, ``candidates`` ...)."""

    def __init__(self, message: str, param: str | None = None, **kw):
        super().__init__(message, param=param, **kw)


class HoursParseError(InputError):
    """Opening hours text (or hours JSON) that cannot be read; the message says which part."""

    def __init__(self, message: str, param: str | None = "opening_hours", **kw):
        super().__init__(message, param=param, **kw)


class UnknownServiceError(InputError):
    """A service key that is not one of :data:`stations.schema.SERVICE_KEYS`."""

    def __init__(self, message: str, param: str | None = "service", **kw):
        super().__init__(message, param=param, **kw)


class ExportError(InputError):
    """An export that cannot be written as asked (unknown format, unwritable path)."""

    def __init__(self, message: str, param: str | None = "format", **kw):
        super().__init__(message, param=param, **kw)


class NetworkBuildError(InputError):
    """An OpenStreetMap extract that cannot become the walking network (not an OSM file, truncated, outside
    Yunnan, no walkable ways); the stored network is left as it was."""

    def __init__(self, message: str, param: str | None = "extract", **kw):
        super().__init__(message, param=param, **kw)


class NetworkError(InputError):
    """A walking-network request that cannot be answered (bad minutes or distance, a point that cannot
    reach the network); ``param`` names the parameter."""

    def __init__(self, message: str, param: str | None = None, **kw):
        super().__init__(message, param=param, **kw)


class AccessError(InputError):
    """An official asked for something her role or area does not allow (an editor of 昆明市 changing a station
    in 大理州, a viewer saving anything). HTTP 403; the registry is unchanged."""

    status = 403


class EditConflictError(InputError):
    """A save based on a version of a station (or a preview of a file) that someone else has changed since:
    refused, naming what changed, so nothing is overwritten silently. HTTP 409."""

    status = 409


class RegistryError(YizhanError, RuntimeError):
    """The registry cannot be opened or written (the operator's problem, not the user's)."""


class CJKFontError(YizhanError, RuntimeError):
    """No font able to render Chinese text is installed (install fonts-noto-cjk or set YIZHAN_CJK_FONT)."""
