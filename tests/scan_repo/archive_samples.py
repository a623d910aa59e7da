"""Real archives, whole and damaged in the ways that made the standard library raise.

Each damaged sample is built from a valid archive by changing the bytes a reader trusts
(a version field, an offset, a flag, a checksum), so the damage is exactly the one named.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import zipfile

from tests.support.git_repos import ENV_PAIR

SECRET_MEMBER = ENV_PAIR.encode()
# Deflated text without the key: the raw bytes of a damaged archive hide nothing.
FILLER = b"".join(b"filler line %d for the archive\n" % n for n in range(40))


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive; fixed timestamps, so the same members give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, data, compress_type=method)
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes]) -> bytes:
    """An uncompressed tar archive (``gzip_bytes`` of it is a tar.gz)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    """A gzip stream with a fixed timestamp."""
    return gzip.compress(data, mtime=0)


def _central(data: bytes | bytearray) -> int:
    return data.index(b"PK\x01\x02")


def zip_of_unknown_version() -> bytes:
    """The central directory asks for zip version 8.6: NotImplementedError on opening."""
    data = bytearray(zip_bytes({"a.txt": FILLER}))
    data[_central(data) + 6] = 86
    return bytes(data)


def zip_with_a_negative_offset() -> bytes:
    """The end record puts the directory 100 bytes late: members sit at -100 (ValueError)."""
    data = bytearray(zip_bytes({"a.txt": FILLER}))
    end = data.rindex(b"PK\x05\x06")
    (offset,) = struct.unpack_from("<I", data, end + 16)
    struct.pack_into("<I", data, end + 16, offset + 100)
    return bytes(data)


def zip_with_a_name_that_is_not_utf8() -> bytes:
    """The UTF-8 flag is set on a name that is not UTF-8: UnicodeDecodeError on opening."""
    data = bytearray(zip_bytes({"ab.txt": FILLER}))
    central = _central(data)
    data[central + 9] |= 0x08  # bit 11 (0x800) of the flags: names are UTF-8
    data[central + 46 : central + 48] = b"\xff\xfe"
    return bytes(data)


def zip_with_an_empty_name() -> bytes:
    """A member named "": ``ZipInfo.is_dir()`` raises IndexError on it."""
    return zip_bytes({"": FILLER})


def zip_with_unreadable_members() -> bytes:
    """``locked.env`` is marked encrypted, ``odd.env`` uses compression method 99."""
    data = bytearray(zip_bytes(dict.fromkeys(("locked.env", "odd.env", "app.env"), SECRET_MEMBER)))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        local = [info.header_offset for info in archive.infolist()]
    central = [i for i in range(len(data)) if data[i : i + 4] == b"PK\x01\x02"]
    for flag_at in (local[0] + 6, central[0] + 8):
        data[flag_at] |= 0x1
    for method_at in (local[1] + 8, central[1] + 10):
        data[method_at : method_at + 2] = (99).to_bytes(2, "little")
    return bytes(data)


def zip_with_a_bad_crc(content: bytes) -> bytes:
    """One deflated member whose stored CRC is wrong: BadZipFile at its end."""
    data = bytearray(zip_bytes({"app.env": content}))
    for header in (data.index(b"PK\x03\x04") + 14, _central(data) + 16):
        data[header] ^= 0xFF
    return bytes(data)


def truncated_gzip(content: bytes) -> bytes:
    """A gzip stream cut before its end: EOFError once the readable part is read."""
    data = gzip_bytes(content)
    return data[: len(data) * 3 // 4]


def tar_with_a_bad_second_header() -> bytes:
    """Two members; the second header's checksum is wrong, so tarfile stops quietly."""
    data = bytearray(tar_bytes({"first.txt": FILLER, "second.env": SECRET_MEMBER}))
    second = 512 + (len(FILLER) + 511) // 512 * 512
    data[second + 148 : second + 156] = b"0000000\0"
    return bytes(data)


def tar_with_a_truncated_member() -> bytes:
    """The member's header promises more bytes than the archive holds."""
    data = tar_bytes({"big.env": SECRET_MEMBER + FILLER * 20})
    return data[:2048]


def nested(data: bytes, depth: int) -> bytes:
    """``data`` inside ``depth`` zip archives, one in another."""
    for level in range(depth):
        data = zip_bytes({f"level{level}.bin": data})
    return data


def read_all_with_the_standard_library(data: bytes) -> None:
    """What the scanner did before: list and read every member, trusting the reader."""
    if data[:2] == b"\x1f\x8b":
        gzip.decompress(data)
    elif data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    archive.read(info)
    else:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar.getmembers():
                stream = tar.extractfile(member)
                assert stream is not None
                stream.read()
