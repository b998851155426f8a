"""Reading a tar.gz archive with bounded work, whatever the bytes.

The standard library's ``tarfile`` trusts an archive's headers: it reads a PAX extended header
or a GNU long name of any size into memory, and before Python 3.11.10 parses a large PAX header
in quadratic time while holding the GIL (CVE-2024-6232: 410 bytes of tar.gz froze an ingest
worker for 30 s). So it is not used: this module walks the format itself, and every step is
bounded before it is taken, on any Python version. The archive is inflated in bounded steps
(``zlib``, first gzip member only, as ``tarfile``'s stream mode did) and walked 512-byte header
by header. A PAX (``x``, ``g``) or GNU long-name (``L``, ``K``) header member larger than
``MAX_HEADER_DATA_BYTES`` is refused before it is read, PAX records are parsed in one linear
pass, at most ``MAX_HEADER_MEMBERS_IN_A_ROW`` header members may precede a member, and a
member's size is checked against the budget (``hookyard.themes.bundle_limits``) before its data
is inflated.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from hookyard.base.errors import InvalidBundle, quoted
from hookyard.themes.bundle_limits import ReadBudget, decode_name

MAX_HEADER_DATA_BYTES = 8 * 1024
"""Largest tar header member (PAX ``x``/``g`` records, GNU ``L``/``K`` long names). A PAX header
holds a path (at most ``MAX_PATH_BYTES``) plus times, owner and the extended attributes macOS'
tar adds (quarantine, provenance: a few hundred bytes); 8 KiB holds all of that."""
MAX_PAX_RECORDS = 64
"""Records in one PAX header (a real one has a dozen at most: path, times, owner, attributes)."""
MAX_HEADER_MEMBERS_IN_A_ROW = 4
"""Header members before one member: a global ``g``, an ``x``, an ``L`` and a ``K`` at most."""
BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)
_INPUT_STEP = 64 * 1024
_OUTPUT_STEP = 1024 * 1024
"""Inflate at most this much per ``zlib`` call, so the CPU-time check runs between steps."""
_HIGH_BYTES = bytes(range(128))
_OCTAL_DIGITS = b"01234567"
_TAR_FILE_TYPES = (b"0", b"\x00", b"7")  # regular, old regular, contiguous (a regular file)
_TAR_HEADER_TYPES = (b"x", b"g", b"L", b"K")


@dataclass(frozen=True)
class ArchiveMember:
    """One archive entry: its whole name, its kind (``file``, ``dir`` or ``other``: links,
    devices, unknown tar types) and, for a file, its bytes."""

    name: str
    kind: str
    content: bytes = b""


class _GzipStream:
    """The inflated bytes of a gzip body, read in bounded steps (the first gzip member only;
    what follows it is ignored, as ``tarfile``'s stream mode did)."""

    def __init__(self, data: bytes, budget: ReadBudget) -> None:
        self._data = data
        self._position = 0
        self._budget = budget
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the data."""
        parts: list[bytes] = []
        missing = size
        while missing > 0:
            self._budget.check_time()
            source = self._next_source()
            if source is None:
                break
            try:
                out = self._inflater.decompress(source, min(missing, _OUTPUT_STEP))
            except zlib.error:
                raise InvalidBundle("The body is not a readable .tar.gz archive (corrupt gzip "
                                    "data); re-create it with tar -czf.") from None
            parts.append(out)
            missing -= len(out)
        return b"".join(parts)

    def read_exactly(self, size: int, what: str) -> bytes:
        data = self.read(size)
        if len(data) != size:
            raise InvalidBundle(f"The .tar.gz archive is truncated in {what}; upload the whole "
                                "file.")
        return data

    def skip_padding(self, size: int) -> None:
        """Skip to the next 512-byte boundary after ``size`` bytes of data (a missing tail at
        the very end is tolerated: the next header read then finds the end)."""
        self.read(-size % BLOCK)

    def _next_source(self) -> bytes | None:
        inflater = self._inflater
        if inflater.eof:
            return None
        if inflater.unconsumed_tail:
            return inflater.unconsumed_tail
        if self._position >= len(self._data):
            return None
        chunk = self._data[self._position:self._position + _INPUT_STEP]
        self._position += len(chunk)
        return chunk


def _tar_number(field: bytes) -> int:
    """A numeric header field: octal text (NUL- or space-terminated) or base-256 (``0x80``)."""
    if field[0] & 0x80:
        if field[0] != 0x80:
            raise InvalidBundle("A tar header holds a negative number; the archive is corrupt.")
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\x00", 1)[0].strip(b" ")
    if text.translate(None, _OCTAL_DIGITS):
        raise InvalidBundle("A tar header holds a malformed number; the archive is corrupt.")
    return int(text, 8) if text else 0


def _check_tar_checksum(block: bytes) -> None:
    stored = _tar_number(block[148:156])
    unsigned = sum(block) - sum(block[148:156]) + 8 * 0x20
    if stored == unsigned:
        return
    high = len(block[:148].translate(None, _HIGH_BYTES)) + len(
        block[156:].translate(None, _HIGH_BYTES))
    if stored != unsigned - 256 * high:  # some old tars summed signed bytes
        raise InvalidBundle("A tar header's checksum does not match; the archive is corrupt, "
                            "re-create it.")


def _pax_records(data: bytes) -> dict[bytes, bytes]:
    """``<length> <keyword>=<value>\\n`` records in one pass (each record's length is read from
    at most 20 digits; trailing NUL padding is allowed), at most ``MAX_PAX_RECORDS``."""
    records: dict[bytes, bytes] = {}
    position = 0
    while position < len(data):
        if data[position] == 0 and not data[position:].strip(b"\x00"):
            break
        if len(records) >= MAX_PAX_RECORDS:
            raise InvalidBundle(f"A PAX header holds more than {MAX_PAX_RECORDS} records; "
                                "re-create the archive with plain tar.")
        space = data.find(b" ", position, position + 21)
        digits = data[position:space]
        if space < 0 or not digits.isdigit():
            raise InvalidBundle("A PAX header record is malformed; the archive is corrupt.")
        end = position + int(digits)
        keyword, equals, value = data[space + 1:end - 1].partition(b"=")
        if end > len(data) or end <= space + 1 or data[end - 1:end] != b"\n" or not equals \
                or not keyword:
            raise InvalidBundle("A PAX header record is malformed; the archive is corrupt.")
        records[keyword] = value
        position = end
    return records


def _pax_size(value: bytes) -> int:
    if not value.isdigit() or len(value) > 20:
        raise InvalidBundle("A PAX header's size is malformed; the archive is corrupt.")
    return int(value)


class _Pending:
    """What header members said about the member that follows them."""

    def __init__(self) -> None:
        self.headers = 0
        self.name: bytes | None = None
        self.long_name: bytes | None = None
        self.size: int | None = None

    def apply(self, typeflag: bytes, data: bytes) -> None:
        self.headers += 1
        if self.headers > MAX_HEADER_MEMBERS_IN_A_ROW:
            raise InvalidBundle(f"More than {MAX_HEADER_MEMBERS_IN_A_ROW} tar header members "
                                "precede one file; the archive is corrupt or hostile.")
        if typeflag == b"L":
            self.long_name = data.rstrip(b"\x00")
        elif typeflag in (b"x", b"g"):
            for keyword, value in _pax_records(data).items():
                if keyword.startswith(b"GNU.sparse."):
                    raise InvalidBundle("The archive holds a sparse file; re-create it without "
                                        "--sparse.")
                if typeflag == b"g":
                    if keyword in (b"path", b"size"):
                        raise InvalidBundle("A PAX global header sets a path or size for every "
                                            "member; re-create the archive with plain tar.")
                elif keyword == b"path":
                    self.name = value
                elif keyword == b"size":
                    self.size = _pax_size(value)
        # "K" (a GNU long link name) only matters to a link, and links are refused.


def _tar_name(block: bytes, pending: _Pending) -> bytes:
    if pending.name is not None:
        return pending.name
    if pending.long_name is not None:
        return pending.long_name
    name = block[0:100].rstrip(b"\x00")
    if block[257:263] == b"ustar\x00":  # POSIX ustar: a long path is split into prefix/name
        prefix = block[345:500].rstrip(b"\x00")
        if prefix:
            name = prefix + b"/" + name
    return name


def read_tar_gz(data: bytes, budget: ReadBudget) -> Iterator[ArchiveMember]:
    """The members of a .tar.gz, in order, each counted against ``budget`` before its data is
    inflated; ``InvalidBundle`` for anything that is not a readable archive."""
    stream = _GzipStream(data, budget)
    pending = _Pending()
    first = True
    while True:
        block = stream.read(BLOCK)
        if not block and first:
            raise InvalidBundle("The body is not a readable .tar.gz archive (it is empty).")
        if not block or block == _ZERO_BLOCK:  # the end (a missing end marker is tolerated)
            if pending.headers:
                raise InvalidBundle("The .tar.gz archive ends after a header member; upload the "
                                    "whole file.")
            return
        if len(block) < BLOCK:
            raise InvalidBundle("The .tar.gz archive is truncated in a header; upload the whole "
                                "file.")
        first = False
        _check_tar_checksum(block)
        typeflag = block[156:157]
        size = _tar_number(block[124:136])
        if typeflag in _TAR_HEADER_TYPES:  # capped per member by _Pending, not as entries
            if size > MAX_HEADER_DATA_BYTES:
                raise InvalidBundle(
                    f"A tar header member (type {typeflag.decode('latin-1')!r}: a PAX header or "
                    f"a GNU long name) holds {size} bytes, more than {MAX_HEADER_DATA_BYTES}; a "
                    "real path needs far less. Re-create the archive with plain tar.")
            budget.add_bytes(size)
            pending.apply(typeflag, stream.read_exactly(size, "a header member"))
            stream.skip_padding(size)
            continue
        raw_name = _tar_name(block, pending)
        if pending.size is not None:
            size = pending.size
        pending = _Pending()
        name = decode_name(raw_name)
        budget.add_entries()
        budget.add_bytes(len(raw_name))
        if typeflag in _TAR_FILE_TYPES and not (typeflag == b"\x00" and name.endswith("/")):
            budget.add_bytes(size)
            content = stream.read_exactly(size, f"entry {quoted(name)}")
            stream.skip_padding(size)
            yield ArchiveMember(name, "file", content)
        elif typeflag == b"5" or typeflag == b"\x00":
            if size:
                raise InvalidBundle(f"Tar folder entry {quoted(name)} has data; the archive is "
                                    "corrupt.")
            yield ArchiveMember(name, "dir")
        else:  # links, devices, unknown types: the caller refuses them
            yield ArchiveMember(name, "other")
            budget.add_bytes(size)
            stream.read_exactly(size, f"entry {quoted(name)}")
            stream.skip_padding(size)
