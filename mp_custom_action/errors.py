"""The one exception tree of mp-custom-action, and the exit code each error maps to.

::

    MpError                              exit 1  (base; never raised bare)
    ├── InputError                       exit 2  bad input, caught before anything is sent
    │   ├── UnknownApiError                      Select API is not a known selector
    │   ├── UnknownRegionError                   region is not us/eu/in
    │   ├── MethodError                          Request Type is not GET/POST/PUT/PATCH/DELETE
    │   ├── RelativeUrlError                     Relative URL could leave the API's base URL
    │   ├── QueryError                           Query object or query string
    │   ├── HeaderError                          Headers object
    │   ├── BodyError                            Body
    │   ├── OriginError                          --origin
    │   ├── PresetInputError                     a preset's input, with its JSON path
    │   ├── ManifestError                        a manifest, with its JSON path
    │   └── ConfigError                          a TOML config file or profile
    ├── CredentialError                  exit 3  no usable credential for this API
    │   ├── MissingCredentialError
    │   └── CredentialNotAcceptedError
    ├── PluginError                      exit 7  a plugin misbehaved (strict mode or name conflict)
    ├── OutputError                      exit 8  the answer came; its --output file could not be written
    ├── BudgetSpentError                 exit 9  a Mixpanel rate budget is spent (--no-wait, deadline)
    └── TransportError                   exit 6  the request did not produce an HTTP answer
        ├── ConnectError                         connection refused, DNS, TLS, proxy
        ├── RequestTimeout                       connect or read timeout
        ├── DeadlineExceeded                     the total deadline ran out
        └── BrokenResponseError                  reset, truncated, undecodable response
            └── ResponseTooLarge                 in-memory body cap reached (use --output)

HTTP statuses are results, not errors: a 403 is a result whose ``status_code`` is 403. The CLI turns
4xx/5xx into exit codes 4 and 5 only when asked to (``--check-status``).

No error message ever holds a credential: messages are built from field names, URLs (which never
carry a credential) and our own words, never from a prepared request's headers.
"""

from __future__ import annotations

import enum
from typing import Optional

from ._text import one_line

__all__ = [
    "ApiSecretDeprecationWarning",
    "BodyError",
    "BrokenResponseError",
    "BudgetSpentError",
    "ConfigError",
    "ConnectError",
    "CredentialError",
    "CredentialNotAcceptedError",
    "DeadlineExceeded",
    "ExitStatus",
    "HeaderError",
    "InputError",
    "ManifestError",
    "MethodError",
    "MissingCredentialError",
    "MpError",
    "MpWarning",
    "OriginError",
    "OutputError",
    "PluginError",
    "PluginWarning",
    "PresetInputError",
    "QueryError",
    "RelativeUrlError",
    "RequestTimeout",
    "ResponseSchemaWarning",
    "ResponseTooLarge",
    "TransportError",
    "UnknownApiError",
    "UnknownRegionError",
]


class ExitStatus(enum.IntEnum):
    """Exit codes of the ``mp-custom-action`` command, documented in ``--help`` and docs/errors.md."""

    OK = 0
    ERROR = 1
    INPUT_ERROR = 2
    CREDENTIAL_ERROR = 3
    HTTP_4XX = 4
    HTTP_5XX = 5
    TRANSPORT_ERROR = 6
    PLUGIN_ERROR = 7
    OUTPUT_ERROR = 8
    BUDGET_SPENT = 9
    INTERRUPTED = 130
    #: SIGTERM ended a ``run`` (128 + 15, as a shell reports it); what was done is printed first.
    TERMINATED = 143


def http_exit_status(status_code: int) -> ExitStatus:
    """The exit status of an HTTP answer that counts as a failure: 5 for a 5xx, 4 for anything else.

    ``--check-status`` counts 4xx and 5xx answers as failures; a manifest step counts any status
    its ``expect`` does not list (a 302 it did not expect is a 4). Both ask this one function.
    """
    return ExitStatus.HTTP_5XX if status_code >= 500 else ExitStatus.HTTP_4XX


class MpError(Exception):
    """Base class of every error mp-custom-action raises on purpose."""

    exit_status: ExitStatus = ExitStatus.ERROR

    def __init__(self, message: str) -> None:
        # Messages quote the caller's keys and values; escaping control characters keeps every
        # error one line, so a key holding "\n" cannot forge a second line of output or log.
        message = one_line(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(MpError, ValueError):
    """An input was rejected before anything was sent. ``field`` names it (a JSON path where useful)."""

    exit_status = ExitStatus.INPUT_ERROR

    def __init__(self, message: str, *, field: Optional[str] = None) -> None:
        self.field = field
        #: The message without the field in front, for re-raising under a longer JSON path.
        self.detail = message
        shown = field if field is None or len(field) <= 200 else field[:197] + "..."
        super().__init__(f"{shown}: {message}" if field else message)


class UnknownApiError(InputError):
    pass


class UnknownRegionError(InputError):
    pass


class MethodError(InputError):
    pass


class RelativeUrlError(InputError):
    pass


class QueryError(InputError):
    pass


class HeaderError(InputError):
    pass


class BodyError(InputError):
    pass


class OriginError(InputError):
    pass


class PresetInputError(InputError):
    """A preset's input does not match its schema; ``field`` is the JSON path (``body.type``)."""


class ManifestError(InputError):
    """A manifest failed its checks; ``field`` is the JSON path (``steps[1].preset``)."""


class ConfigError(InputError):
    """A config file or profile is unusable; the message names the file (and line/column)."""


class CredentialError(MpError):
    """No credential this API accepts is available, or the one asked for is not accepted.

    ``field`` says where the action sits when it is part of something larger (``steps[2]``).
    """

    exit_status = ExitStatus.CREDENTIAL_ERROR

    def __init__(self, message: str, *, field: Optional[str] = None) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}" if field else message)


class MissingCredentialError(CredentialError):
    pass


class CredentialNotAcceptedError(CredentialError):
    pass


class PluginError(MpError):
    """A plugin failed (under --strict-plugins) or two plugins claim the same name."""

    exit_status = ExitStatus.PLUGIN_ERROR

    def __init__(self, message: str, *, plugins: tuple[str, ...] = ()) -> None:
        self.plugins = plugins
        super().__init__(message)


class OutputError(MpError):
    """Writing the answer to its ``--output`` file failed locally (disk full, a refused name).

    Not a transport fault: the answer was received, and sending again would not help, so it is
    never retried. ``path`` is the file; the message names it and the operating system's reason.
    """

    exit_status = ExitStatus.OUTPUT_ERROR

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(message)


class BudgetSpentError(MpError):
    """A project's rate budget is spent and the call may not wait (``--no-wait``, or the wait
    would pass its deadline). ``until`` is when it has room again (unix time); nothing was sent."""

    exit_status = ExitStatus.BUDGET_SPENT

    def __init__(self, message: str, *, limit: str, project: str, until: float) -> None:
        self.limit = limit
        self.project = project
        self.until = until
        super().__init__(message)


class TransportError(MpError):
    """The request produced no complete HTTP answer. ``attempts`` counts the tries made."""

    exit_status = ExitStatus.TRANSPORT_ERROR

    def __init__(self, message: str, *, url: Optional[str] = None, attempts: int = 1) -> None:
        self.url = url
        self.attempts = attempts
        super().__init__(message)


class ConnectError(TransportError):
    pass


class RequestTimeout(TransportError):
    pass


class DeadlineExceeded(TransportError):
    pass


class BrokenResponseError(TransportError):
    pass


class ResponseTooLarge(BrokenResponseError):
    pass


class MpWarning(UserWarning):
    """Base class of the warnings mp-custom-action emits."""


class PluginWarning(MpWarning):
    """A plugin or one of its presets was skipped; the message names the plugin."""


class ResponseSchemaWarning(MpWarning):
    """A response body does not match the schema its preset declares for that status."""


class ApiSecretDeprecationWarning(MpWarning, FutureWarning):
    """The project API secret is deprecated: Mixpanel retires it on 2027-03-03."""
