"""Reading a zip archive with bounded work, whatever the bytes.

The standard library's ``zipfile`` builds an object for every central-directory entry before
anyone can count them (400,000 entries fit in 20 MiB). So it is not used: the end record (and
zip64 end record) gives the entry count, refused over the limit before the central directory is
walked; the walk checks every entry's name length, and name, extra field and comment bytes
count toward the unpacked size (``hookyard.themes.bundle_limits``). Only stored and deflated
entries are read, each inflated to at most its declared size (+1 to catch a lie) and checked
against its CRC.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from hookyard.base.errors import InvalidBundle, quoted
from hookyard.themes.bundle_limits import ReadBudget, decode_name

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
