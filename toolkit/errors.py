"""Exceptions raised by the toolkit: takes nothing, gives one error class per stage, all
subclasses of :class:`ToolkitError` (what the command line prints as one line).

Every error a user can cause by bad input is a subclass of :class:`ToolkitError`, so
the command line can print its message without a traceback.
"""

__all__ = [
    "ToolkitError",
    "IngestError",
    "FetchError",
    "OfflineError",
    "LabelError",
    "ConfigError",
    "DatasetError",
    "ModelError",
    "RunError",
    "HubError",
]


class ToolkitError(Exception):
    """Base class for errors caused by input the user can fix."""


class IngestError(ToolkitError):
    """A letter file could not be read or is not a letter we understand."""


class FetchError(ToolkitError):
    """Fetching a letter from an official source failed."""


class OfflineError(FetchError):
    """The official source could not be reached (no network, DNS failure, refused)."""


class LabelError(ToolkitError):
    """Labels or the label schema are invalid."""


class ConfigError(ToolkitError):
    """An experiment configuration is invalid."""


class DatasetError(ToolkitError):
    """A dataset or split cannot be built from the given data."""


class ModelError(ToolkitError):
    """A model cannot be built, loaded or applied."""


class RunError(ToolkitError):
    """A run directory is missing, incomplete or damaged."""


class HubError(ToolkitError):
    """Publishing to the Hugging Face Hub failed (no token, offline, refused by the Hub)."""
