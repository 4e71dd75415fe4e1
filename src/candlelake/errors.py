"""Exception tree.

CandlelakeError
├── UsageError            bad user input; the CLI exits 2 and writes nothing
├── TransientError        worth retrying: 5xx, timeouts, resets, malformed bodies, 429
│   ├── RateLimited       429; carries the server's Retry-After
│   └── Unreachable       connection refused or DNS failure: retried only briefly
├── TerminalError         retrying cannot help
│   ├── IpBanned          418; carries the ban time
│   ├── StorageUnreachable  the lake's storage failed repeatedly; the run stops
│   └── ChecksumMismatch  an archive file failed its .CHECKSUM twice
└── UnreadableFile        a lake file cannot be read; names the file

Rows that break OHLCV rules are not raised: they are rejected, reported as gaps with the
reason, and fail the run (see validate/rules.py).
"""

from __future__ import annotations


class CandlelakeError(Exception):
    """Base class of every error candlelake raises on purpose."""


class UsageError(CandlelakeError):
    """The user asked for something invalid; the message names the value and what is allowed."""


class TransientError(CandlelakeError):
    """A failure that a later attempt may not repeat."""


class RateLimited(TransientError):
    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unreachable(TransientError):
    """Nothing answers at that address (refused, DNS): a few quick attempts, not eight."""


class TerminalError(CandlelakeError):
    """A failure that retrying cannot fix."""


class IpBanned(TerminalError):
    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ChecksumMismatch(TerminalError):
    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


class StorageUnreachable(TerminalError):
    """Consecutive storage calls failed; the message is `storage unreachable: <endpoint>: <cause>`."""


class UnreadableFile(CandlelakeError):
    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path
