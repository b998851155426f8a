"""Reading zip and tar.gz archives with bounded work, whatever the bytes.

The standard library's readers trust an archive's headers. ``tarfile`` reads a PAX extended
header or a GNU long name of any size into memory, and before Python 3.11.10 parses a large PAX
header in quadratic time while holding the GIL (CVE-2024-6232: 410 bytes of tar.gz froze an
ingest worker for 30 s); ``zipfile`` builds an object for every central-directory entry before
anyone can count them (400,000 entries fit in 20 MiB). So neither is used: this module walks
both formats itself, and every step is bounded before it is taken, on any Python version:

- **tar.gz**: inflated in bounded steps (``zlib``, first gzip member only, as ``tarfile``'s
  stream mode did) and walked 512-byte header by header. A PAX (``x``, ``g``) or GNU long-name
  (``L``, ``K``) header member larger than ``MAX_HEADER_DATA_BYTES`` is refused before it is
  read, PAX records are parsed in one linear pass, at most ``MAX_HEADER_MEMBERS_IN_A_ROW``
  header members may precede a member, and a member's size is checked against the budget
  before its data is inflated.
- **zip**: the end record (and zip64 end record) gives the entry count, refused over the limit
  before the central directory is walked; the walk checks every entry's name length, and name,
  extra field and comment bytes count toward the unpacked size. Only stored and deflated
  entries are read, each inflated to at most its declared size (+1 to catch a lie) and checked
  against its CRC.
- **both**: names longer than ``MAX_PATH_BYTES`` are refused before they are decoded; names,
  header data and contents count toward ``max_unpacked_bytes``; archive entries of any kind are
  capped by ``BundleLimits.max_entries``; and ``ReadBudget.check_time`` stops a read that has
  used more than ``max_read_seconds`` of its thread's CPU time.

Names come back whole: a NUL inside a name is kept (``zipfile`` and C strings cut the name
there, ``assets/a.css\\0/../../`` read as ``assets/a.css``), so the path check refuses it.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from hookyard.base.errors import InvalidBundle, PayloadTooLarge, UnsafeBundlePath, quoted
from hookyard.base.settings import Settings

MAX_PATH_BYTES = 1024
"""Longest name (UTF-8 bytes) of an archive entry or a JSON bundle's file. A theme path is
``<folder>/<name>``, well under 200 bytes; 1024 leaves room for a wrapping top folder."""
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

_ZIP_END = b"PK\x05\x06"
_ZIP_END_STRUCT = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_LOCATOR_STRUCT = struct.Struct("<4sLQL")
_ZIP64_END = b"PK\x06\x06"
_ZIP64_END_STRUCT = struct.Struct("<4sQ2H2L4Q")
_ZIP_CENTRAL = b"PK\x01\x02"
_ZIP_CENTRAL_STRUCT = struct.Struct("<4s4B4HL2L5H2L")
_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_LOCAL_STRUCT = struct.Struct("<4s2B4HL2L2H")
_ZIP_MAX_COMMENT = 0xFFFF
_ZIP_STORED, _ZIP_DEFLATED = 0, 8
_ZIP_UTF8_FLAG = 0x800
_ZIP_ENCRYPTED_FLAGS = 0x1 | 0x40  # traditional and strong encryption


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


@dataclass(frozen=True)
class ArchiveMember:
    """One archive entry: its whole name, its kind (``file``, ``dir`` or ``other``: links,
    devices, unknown tar types) and, for a file, its bytes."""

    name: str
    kind: str
    content: bytes = b""


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


# --- tar.gz ------------------------------------------------------------------------------------


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


# --- zip ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZipEntry:
    """One central-directory entry, as walked by ``ZipArchive``."""

    name: str
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    external_attributes: int
    header_offset: int
    raw_name: bytes

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")

    @property
    def is_symlink(self) -> bool:
        return (self.external_attributes >> 16) & 0o170000 == 0o120000

    @property
    def is_encrypted(self) -> bool:
        return bool(self.flags & _ZIP_ENCRYPTED_FLAGS)


def _deflated_size_bound(size: int) -> int:
    """Most compressed bytes ``size`` bytes of a zip entry can take: deflate's stored blocks add
    5 bytes per 64 KiB; 1 KiB more is room to spare."""
    return size + 5 * (size // 0xFFFF + 1) + 1024


def _bad_zip(what: str) -> InvalidBundle:
    return InvalidBundle(f"The body is not a readable zip archive ({what}); re-create the zip.")


def _zip64_values(extra: bytes, wanted: list[bool]) -> list[int]:
    """The zip64 extra field's values for the fields whose 32-bit value was 0xFFFFFFFF."""
    position = 0
    while position + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, position)
        body = extra[position + 4:position + 4 + length]
        if tag == 0x0001:
            count = sum(wanted)
            if len(body) < 8 * count:
                raise _bad_zip("a zip64 extra field is too short")
            return list(struct.unpack_from(f"<{count}Q", body))
        position += 4 + length
    raise _bad_zip("a zip64 size is missing")


class ZipArchive:
    """A zip's central directory, walked with its entry count checked first; ``read`` inflates
    one entry to at most its declared size."""

    def __init__(self, data: bytes, budget: ReadBudget) -> None:
        self.data = data
        self.budget = budget
        start, size, count = self._directory()
        if count > budget.limits.max_entries:
            budget.add_entries(count)  # refuses, naming the limit, before any entry is parsed
        self.entries = self._walk(start, size)

    def _directory(self) -> tuple[int, int, int]:
        """Start, size and entry count of the central directory (from the last end record,
        and the zip64 end record just before it when there is one)."""
        data = self.data
        end = data.rfind(_ZIP_END, max(0, len(data) - _ZIP_END_STRUCT.size - _ZIP_MAX_COMMENT))
        if end < 0 or end + _ZIP_END_STRUCT.size > len(data):
            raise _bad_zip("no end of central directory")
        (_, disk, _, _, count, size, offset, comment) = _ZIP_END_STRUCT.unpack_from(data, end)
        if end + _ZIP_END_STRUCT.size + comment > len(data):
            raise _bad_zip("the end record's comment is cut off")
        if disk:
            raise _bad_zip("it spans several disks")
        directory_end = end
        locator = end - _ZIP64_LOCATOR_STRUCT.size
        if locator >= 0 and data[locator:locator + 4] == _ZIP64_LOCATOR:
            record = locator - _ZIP64_END_STRUCT.size
            if record < 0 or data[record:record + 4] != _ZIP64_END:
                raise _bad_zip("a zip64 end record is missing")
            values = _ZIP64_END_STRUCT.unpack_from(data, record)
            count, size, offset = values[7], values[8], values[9]
            directory_end = record
        start = directory_end - size
        if start < 0 or start - offset < 0:
            raise _bad_zip("the central directory's offset is wrong")
        self._shift = start - offset  # bytes prepended to the zip (a self-extractor's stub)
        return start, size, count

    def _walk(self, start: int, size: int) -> list[ZipEntry]:
        entries: list[ZipEntry] = []
        position, end = start, start + size
        while position < end:
            self.budget.check_time()
            self.budget.add_entries()
            if position + _ZIP_CENTRAL_STRUCT.size > end:
                raise _bad_zip("the central directory is truncated")
            fields = _ZIP_CENTRAL_STRUCT.unpack_from(self.data, position)
            if fields[0] != _ZIP_CENTRAL:
                raise _bad_zip("bad central directory entry")
            flags, method, crc = fields[5], fields[6], fields[9]
            compressed, plain = fields[10], fields[11]
            name_length, extra_length, comment_length = fields[12], fields[13], fields[14]
            attributes, offset = fields[17], fields[18]
            name_start = position + _ZIP_CENTRAL_STRUCT.size
            extra_start = name_start + name_length
            position = extra_start + extra_length + comment_length
            if position > end:
                raise _bad_zip("the central directory is truncated")
            raw_name = self.data[name_start:extra_start]
            name = decode_name(raw_name, "utf-8" if flags & _ZIP_UTF8_FLAG else "cp437")
            self.budget.add_bytes(name_length + extra_length + comment_length)
            wanted = [plain == 0xFFFFFFFF, compressed == 0xFFFFFFFF, offset == 0xFFFFFFFF]
            if any(wanted):
                values = iter(_zip64_values(self.data[extra_start:extra_start + extra_length],
                                            wanted))
                plain = next(values) if wanted[0] else plain
                compressed = next(values) if wanted[1] else compressed
                offset = next(values) if wanted[2] else offset
            entries.append(ZipEntry(name=name, flags=flags, method=method, crc=crc,
                                    compressed_size=compressed, size=plain,
                                    external_attributes=attributes,
                                    header_offset=offset + self._shift, raw_name=raw_name))
        return entries

    def read(self, entry: ZipEntry) -> bytes:
        """``entry``'s bytes, inflated to at most its declared size and checked against its
        CRC; ``InvalidBundle`` when it is corrupt, lies about its size or is compressed with
        anything but deflate."""
        self.budget.check_time()
        shown = quoted(entry.name)
        local = entry.header_offset
        if local + _ZIP_LOCAL_STRUCT.size > len(self.data):
            raise InvalidBundle(f"Zip entry {shown} is corrupt (its header is missing); "
                                "re-create the zip.")
        fields = _ZIP_LOCAL_STRUCT.unpack_from(self.data, local)
        name_start = local + _ZIP_LOCAL_STRUCT.size
        name_length, extra_length = fields[10], fields[11]
        if fields[0] != _ZIP_LOCAL or self.data[name_start:name_start + name_length] != \
                entry.raw_name:
            raise InvalidBundle(f"Zip entry {shown} is corrupt (its header does not match the "
                                "directory); re-create the zip.")
        if entry.compressed_size > _deflated_size_bound(entry.size):
            # Deflate never needs much more room than stored data: more is padding that would
            # make every entry pointing at it cost a pass over the whole body.
            raise InvalidBundle(f"Zip entry {shown} claims {entry.compressed_size} compressed "
                                f"bytes for {entry.size} bytes of data; re-create the zip.")
        start = name_start + name_length + extra_length
        compressed = memoryview(self.data)[start:start + entry.compressed_size]
        if len(compressed) != entry.compressed_size:
            raise InvalidBundle(f"Zip entry {shown} is truncated; upload the whole zip.")
        if entry.method == _ZIP_STORED:
            content = bytes(compressed[:entry.size + 1])
        elif entry.method == _ZIP_DEFLATED:
            try:
                content = zlib.decompressobj(-zlib.MAX_WBITS).decompress(compressed,
                                                                         entry.size + 1)
            except zlib.error:
                raise InvalidBundle(f"Zip entry {shown} is corrupt; re-create the zip.") from None
        else:
            raise InvalidBundle(f"Zip entry {shown} uses an unsupported compression (method "
                                f"{entry.method}); re-create the zip (deflate).")
        if len(content) > entry.size:
            raise InvalidBundle(f"Zip entry {shown} is larger than its header says.")
        if len(content) < entry.size or zlib.crc32(content) != entry.crc:
            raise InvalidBundle(f"Zip entry {shown} is corrupt (its size or CRC does not "
                                "match); re-create the zip.")
        return content
