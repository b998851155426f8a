"""What reading any bundle is bounded by: its limits, the budget one read spends against them,
and the check of an archive entry's name.

Names, header data and contents count toward ``max_unpacked_bytes``; archive entries of any
kind are capped by ``BundleLimits.max_entries``; ``ReadBudget.check_time`` stops a read that has
used more than ``max_read_seconds`` of its thread's CPU time; and ``decode_name`` refuses a name
longer than ``MAX_PATH_BYTES`` before it is decoded.

Names come back whole: a NUL inside a name is kept (``zipfile`` and C strings cut the name
there, ``assets/a.css\\0/../../`` read as ``assets/a.css``), so the path check refuses it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hookyard.base.errors import PayloadTooLarge, UnsafeBundlePath, quoted
from hookyard.base.settings import Settings

MAX_PATH_BYTES = 1024
"""Longest name (UTF-8 bytes) of an archive entry or a JSON bundle's file. A theme path is
``<folder>/<name>``, well under 200 bytes; 1024 leaves room for a wrapping top folder."""


@dataclass(frozen=True)
class BundleLimits:
    max_files: int
    max_unpacked_bytes: int
    max_read_seconds: float = 5.0
    """CPU seconds (of the reading thread) one bundle may take to read and check."""

    @property
    def max_entries(self) -> int:
        """Archive entries of any kind (files, folders, ignored ``__MACOSX`` junk, links): twice
        the files plus 100, so the folders of a full theme fit and an archive of nothing but
        folders cannot make the walk unbounded."""
        return 2 * self.max_files + 100

    @classmethod
    def from_settings(cls, settings: Settings) -> BundleLimits:
        return cls(max_files=settings.deploy_max_files,
                   max_unpacked_bytes=settings.deploy_max_unpacked_bytes,
                   max_read_seconds=settings.deploy_max_read_seconds)


class ReadBudget:
    """One bundle's read against its limits: files, archive entries, unpacked bytes (contents,
    names and header data) and CPU time."""

    def __init__(self, limits: BundleLimits) -> None:
        self.limits = limits
        self.files = 0
        self.entries = 0
        self.bytes = 0
        self._cpu_started = time.thread_time()

    def add_file(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise PayloadTooLarge(
                f"The bundle holds more than {self.limits.max_files} files "
                "(HOOKYARD_DEPLOY_MAX_FILES); split the deploy.")

    def add_entries(self, count: int = 1) -> None:
        self.entries += count
        if self.entries > self.limits.max_entries:
            raise PayloadTooLarge(
                f"The archive holds more than {self.limits.max_entries} entries (files, folders "
                "and links: twice HOOKYARD_DEPLOY_MAX_FILES plus 100); split the deploy.")

    def add_bytes(self, size: int) -> None:
        self.bytes += size
        if self.bytes > self.limits.max_unpacked_bytes:
            raise PayloadTooLarge(
                f"The bundle unpacks to more than {self.limits.max_unpacked_bytes} bytes, names "
                "included (HOOKYARD_DEPLOY_MAX_UNPACKED_BYTES); deploy fewer or smaller files.")

    def check_time(self) -> None:
        if time.thread_time() - self._cpu_started > self.limits.max_read_seconds:
            raise PayloadTooLarge(
                f"Reading the bundle took more than {self.limits.max_read_seconds:g} s of CPU "
                "time (HOOKYARD_DEPLOY_MAX_READ_SECONDS); send a smaller or simpler bundle.")


def decode_name(raw: bytes, encoding: str = "utf-8") -> str:
    """An entry's name as text, its length checked before it is decoded."""
    if len(raw) > MAX_PATH_BYTES:
        raise UnsafeBundlePath(
            f"A bundle path is {len(raw)} bytes long, more than {MAX_PATH_BYTES}: "
            f"{quoted(raw.decode('utf-8', 'replace'))}; theme paths are short, e.g. "
            "sections/header.liquid.")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise UnsafeBundlePath(
            f"Bundle path {quoted(raw.decode('utf-8', 'replace'))} is not UTF-8 text; rename "
            "the file or re-create the archive with UTF-8 names.") from None
