"""Hostile archives (issue #21): every upload costs bounded work, on any Python patch level.

Each test builds the hostile bytes itself (``bundle_support``), reads them with
``theme_bundles.read_files`` and checks the refusal, how fast it came and how much of the input
its message repeats.
"""

from __future__ import annotations

import io
import struct
import tarfile
import time
import zipfile
import zlib

import pytest

from hookyard.base.errors import InvalidBundle, PayloadTooLarge, UnsafeBundlePath
from hookyard.themes.bundle_limits import MAX_PATH_BYTES, BundleLimits, ReadBudget
from hookyard.themes.bundles import read_files
from hookyard.themes.tar_gz_reader import MAX_HEADER_DATA_BYTES, read_tar_gz
from hookyard.themes.zip_reader import ZipArchive
from tests.support.bundle_support import (
    pax_record,
    raw_tar_gz,
    tar_gz_bundle,
    tar_header,
    tar_member,
    theme_files,
    zip_bundle,
    zip_end_record,
    zip_with_raw_names,
)

LIMITS = BundleLimits(max_files=100, max_unpacked_bytes=1024 * 1024)
LAYOUT = tar_member(b"layout/theme.liquid", b"<html></html>")
FAST = 0.5
"""Seconds any refusal here may take; the findings took 1 to 30 s."""


def timed_refusal(error: type[Exception], fmt: str, data: bytes,
                  limits: BundleLimits = LIMITS) -> Exception:
    started = time.perf_counter()
    with pytest.raises(error) as raised:
        read_files(fmt, data, limits)
    assert time.perf_counter() - started < FAST
    assert len(str(raised.value)) < 400  # the message never repeats the hostile input
    return raised.value


# --- tar: PAX and GNU long-name headers ----------------------------------------------------------


@pytest.mark.parametrize("typeflag", [b"x", b"g"])
def test_a_pax_header_of_256_kib_is_refused_before_it_is_parsed(typeflag):
    # CVE-2024-6232: 410 bytes of tar.gz whose PAX header is 256 KiB of "1" kept Python 3.11.7's
    # tarfile busy for 30 s with the GIL held.
    body = raw_tar_gz(tar_member(b"././@PaxHeader", b"1" * 256 * 1024, typeflag), LAYOUT)
    assert len(body) < 1024
    error = timed_refusal(InvalidBundle, "tar.gz", body)
    assert str(MAX_HEADER_DATA_BYTES) in str(error)


@pytest.mark.parametrize("typeflag", [b"x", b"g"])
def test_a_malformed_pax_header_within_the_limit_is_refused_in_linear_time(typeflag):
    body = raw_tar_gz(tar_member(b"././@PaxHeader", b"1" * MAX_HEADER_DATA_BYTES, typeflag),
                      LAYOUT)
    timed_refusal(InvalidBundle, "tar.gz", body)


def test_a_pax_header_of_too_many_records_is_refused():
    records = b"".join(pax_record(f"k{i}", "v") for i in range(200))
    assert len(records) < MAX_HEADER_DATA_BYTES
    timed_refusal(InvalidBundle, "tar.gz", raw_tar_gz(tar_member(b"h", records, b"x"), LAYOUT))


@pytest.mark.parametrize("typeflag", [b"L", b"K"])
def test_a_gnu_long_name_of_8_mib_is_refused_before_it_is_read(typeflag):
    # It used to answer 422 with a 16.7 MB body: the name, echoed twice.
    body = raw_tar_gz(tar_member(b"././@LongLink", b"a" * (8 << 20) + b"\x00", typeflag),
                      tar_member(b"x", b"x"))
    assert len(body) < 16 * 1024
    error = timed_refusal(InvalidBundle, "tar.gz", body)
    assert str(MAX_HEADER_DATA_BYTES) in str(error)


def test_a_long_name_within_the_header_limit_but_over_the_path_limit_is_unsafe():
    name = b"sections/" + b"a" * MAX_PATH_BYTES
    body = raw_tar_gz(tar_member(b"././@LongLink", name + b"\x00", b"L"), tar_member(b"x", b"x"),
                      LAYOUT)
    error = timed_refusal(UnsafeBundlePath, "tar.gz", body)
    assert str(MAX_PATH_BYTES) in str(error)


def test_pax_paths_and_gnu_long_names_of_real_tools_are_read():
    long_section = "sections/" + "s" * 150 + ".liquid"
    files = {**theme_files(3), long_section: "x", "sections/tiếng-việt.liquid": "é"}
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", format=fmt) as archive:
            for name, content in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(content.encode())
                archive.addfile(info, io.BytesIO(content.encode()))
        read = read_files("tar.gz", buffer.getvalue(), LIMITS)
        assert {f.filename: f.content.decode() for f in read} == files


def test_a_global_pax_header_like_git_archive_writes_is_accepted():
    body = raw_tar_gz(tar_member(b"pax_global_header", pax_record("comment", "a" * 40), b"g"),
                      LAYOUT)
    assert [f.filename for f in read_files("tar.gz", body, LIMITS)] == ["layout/theme.liquid"]


def test_a_pax_path_overrides_the_header_name_and_is_checked_like_any_path():
    body = raw_tar_gz(tar_member(b"h", pax_record("path", "../evil.liquid"), b"x"),
                      tar_member(b"layout/ok.liquid", b"x"), LAYOUT)
    timed_refusal(UnsafeBundlePath, "tar.gz", body)


def test_header_members_not_followed_by_a_member_are_refused():
    body = raw_tar_gz(LAYOUT, tar_member(b"h", pax_record("path", "a"), b"x"))
    timed_refusal(InvalidBundle, "tar.gz", body)


def test_more_header_members_in_a_row_than_any_tool_writes_are_refused():
    headers = [tar_member(b"h", pax_record("comment", "x"), b"x") for _ in range(5)]
    timed_refusal(InvalidBundle, "tar.gz", raw_tar_gz(*headers, LAYOUT))


def test_a_tar_header_with_a_wrong_checksum_is_refused():
    header = bytearray(tar_header(b"layout/theme.liquid"))
    header[0:1] = b"m"
    timed_refusal(InvalidBundle, "tar.gz", raw_tar_gz(LAYOUT, bytes(header)))


def test_a_tar_of_nothing_but_end_blocks_has_nothing_to_deploy():
    from hookyard.base.errors import InvalidThemeLayout

    timed_refusal(InvalidThemeLayout, "tar.gz", raw_tar_gz())


# --- tar: counts, sizes and time --------------------------------------------------------------


def test_a_tar_with_more_entries_than_the_limit_is_refused_however_small_they_are():
    folders = [tar_member(b"layout/d%d/" % i, typeflag=b"5") for i in range(LIMITS.max_entries)]
    error = timed_refusal(PayloadTooLarge, "tar.gz", raw_tar_gz(*folders, LAYOUT))
    assert "HOOKYARD_DEPLOY_MAX_FILES" in str(error)


@pytest.mark.parametrize("fmt", ["zip", "tar.gz", "json"])
def test_names_count_toward_the_unpacked_size_limit(fmt):
    from tests.support.bundle_support import json_bundle

    # 90 empty files whose names alone are 90 x 600 bytes: over a 50,000-byte limit.
    files = {f"snippets/{i:03}{'n' * 590}.liquid": "" for i in range(90)}
    data = {"zip": zip_bundle, "tar.gz": tar_gz_bundle, "json": json_bundle}[fmt](files)
    error = timed_refusal(PayloadTooLarge, fmt, data,
                          BundleLimits(max_files=100, max_unpacked_bytes=50_000))
    assert "HOOKYARD_DEPLOY_MAX_UNPACKED_BYTES" in str(error)


def test_pax_header_data_counts_toward_the_unpacked_size_limit():
    headers = [tar_member(b"h", pax_record("comment", "c" * 8000), b"x") + tar_member(
        b"snippets/s%d.liquid" % i) for i in range(10)]
    timed_refusal(PayloadTooLarge, "tar.gz", raw_tar_gz(*headers, LAYOUT),
                  BundleLimits(max_files=100, max_unpacked_bytes=50_000))


def test_a_tar_member_declaring_more_than_the_limit_is_refused_before_its_data_is_inflated():
    huge = tar_header(b"assets/zeros.bin", size=1 << 40)  # 1 TiB, and no data behind it
    timed_refusal(PayloadTooLarge, "tar.gz", raw_tar_gz(huge, end=False))


def test_a_truncated_tar_member_is_refused():
    cut = tar_header(b"assets/a.css", size=5000) + b"x" * 100
    timed_refusal(InvalidBundle, "tar.gz", raw_tar_gz(LAYOUT, cut, end=False))


def test_a_bundle_that_uses_more_cpu_time_than_its_budget_is_refused():
    limits = BundleLimits(max_files=100, max_unpacked_bytes=1 << 20, max_read_seconds=1e-9)
    for fmt, data in (("zip", zip_bundle(theme_files(50))),
                      ("tar.gz", tar_gz_bundle(theme_files(50)))):
        with pytest.raises(PayloadTooLarge, match="HOOKYARD_DEPLOY_MAX_READ_SECONDS"):
            read_files(fmt, data, limits)


def test_the_gzip_stream_is_inflated_in_bounded_steps_whatever_its_ratio():
    # 8 MiB of zeros in one member, declared as such: refused by its size before inflating.
    bomb = raw_tar_gz(tar_header(b"assets/zeros.bin", size=8 << 20) + bytes(8 << 20), LAYOUT)
    assert len(bomb) < 128 * 1024
    timed_refusal(PayloadTooLarge, "tar.gz", bomb)


def test_the_tar_reader_yields_whole_names_with_their_nul_bytes():
    body = raw_tar_gz(tar_member(b"assets/a.css\x00/../../", b"x"))
    [member] = list(read_tar_gz(body, ReadBudget(LIMITS)))
    assert member.name == "assets/a.css\x00/../../"


# --- zip: the central directory ---------------------------------------------------------------


def test_a_zip_whose_end_record_claims_400000_entries_is_refused_before_its_directory_is_read():
    entry = struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                        0, 0, 0, 0, 0, 0) + b"a"
    directory = entry * 400_000  # 18.7 MiB: zipfile took 30 s and 178 MiB to list it
    end = zip_end_record(entries=0xFFFF, directory_size=len(directory), directory_offset=0)
    error = timed_refusal(PayloadTooLarge, "zip", directory + end)
    assert "HOOKYARD_DEPLOY_MAX_FILES" in str(error)


def test_a_zip_directory_holding_more_entries_than_its_end_record_says_is_still_capped():
    entry = struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                        0, 0, 0, 0, 0, 0) + b"a"
    directory = entry * 100_000
    end = zip_end_record(entries=3, directory_size=len(directory), directory_offset=0)
    timed_refusal(PayloadTooLarge, "zip", directory + end)


def test_zip_names_longer_than_the_limit_are_refused_without_being_echoed():
    name = b"sections/" + b"n" * 60_000
    error = timed_refusal(UnsafeBundlePath, "zip", zip_with_raw_names({name: b"x"}))
    assert str(MAX_PATH_BYTES) in str(error)


def test_zip_extra_fields_and_comments_count_toward_the_unpacked_size_limit():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(5):
            info = zipfile.ZipInfo(f"snippets/s{i}.liquid")
            info.extra = struct.pack("<2H", 0xCAFE, 60_000) + b"e" * 60_000
            info.comment = b"c" * 60_000
            archive.writestr(info, "x")
    timed_refusal(PayloadTooLarge, "zip", buffer.getvalue(),
                  BundleLimits(max_files=100, max_unpacked_bytes=500_000))


def test_a_zip_entry_that_inflates_beyond_its_declared_size_is_refused():
    data = bytearray(zip_bundle({"layout/theme.liquid": "x" * 5000}))
    directory = data.rfind(b"PK\x01\x02")
    struct.pack_into("<L", data, directory + 24, 10)  # declared size: 10 bytes
    timed_refusal(InvalidBundle, "zip", bytes(data))


def test_a_zip_entry_whose_crc_does_not_match_is_refused():
    data = bytearray(zip_bundle({"layout/theme.liquid": "x" * 5000}))
    directory = data.rfind(b"PK\x01\x02")
    struct.pack_into("<L", data, directory + 16, 0xDEADBEEF)
    timed_refusal(InvalidBundle, "zip", bytes(data))


def test_a_zip_entry_claiming_far_more_compressed_bytes_than_deflate_needs_is_refused():
    # Many entries pointing at one long run of empty deflate blocks would each cost a pass over
    # the whole body; an entry may claim at most what deflate could need for its size.
    padding = b"\x00\x00\x00\xff\xff" * 200_000  # empty stored blocks, 1 MB, no output
    stream = padding + zlib.compress(b"x", 9)[2:-4]
    local = struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 8, 0, 0, zlib.crc32(b"x"),
                        len(stream), 1, 19, 0) + b"layout/theme.liquid"
    central = struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 8, 0, 0,
                          zlib.crc32(b"x"), len(stream), 1, 19, 0, 0, 0, 0, 0, 0)
    central += b"layout/theme.liquid"
    body = local + stream
    end = zip_end_record(entries=1, directory_size=len(central), directory_offset=len(body))
    timed_refusal(InvalidBundle, "zip", body + central + end)


def test_zips_of_other_compressions_are_refused_with_what_to_do():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("layout/theme.liquid", "x")
    with pytest.raises(InvalidBundle, match="deflate"):
        read_files("zip", buffer.getvalue(), LIMITS)


def test_zips_written_by_streaming_with_zip64_or_behind_a_stub_are_read():
    files = {**theme_files(4), "assets/big.css": "y" * 70_000}
    variants = []
    for force_zip64 in (False, True):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in files.items():
                with archive.open(zipfile.ZipInfo(name), "w", force_zip64=force_zip64) as out:
                    out.write(content.encode())
        variants.append(buffer.getvalue())
    variants.append(b"#!/bin/sh\nexit 0\n" + zip_bundle(files))  # a self-extractor's stub
    for data in variants:
        read = read_files("zip", data, LIMITS)
        assert {f.filename: f.content.decode() for f in read} == files


def test_the_zip_reader_keeps_whole_names_with_their_nul_bytes():
    archive = ZipArchive(zip_with_raw_names({b"assets/a.css\x00/../../": b"x"}),
                         ReadBudget(LIMITS))
    assert [e.name for e in archive.entries] == ["assets/a.css\x00/../../"]
