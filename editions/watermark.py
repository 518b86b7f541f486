"""Per-download copies of source archives that name their licensee.

The original archive's members are copied unchanged (streamed, never all in memory) and a LICENSEE.txt
is added at the top level. The copy's SHA-256 goes on the download record, so a leaked archive found in
the wild is traced by its checksum, or by the download ID written inside it if it was repacked.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from typing import IO

LICENSEE_FILENAME = "LICENSEE.txt"
CHUNK = 1024 * 1024


class ArchiveFormatError(Exception):
    pass


@dataclass
class WatermarkedArchive:
    file: IO[bytes]  # a temporary file positioned at 0; the caller closes it
    size: int
    sha256: str


def archive_format(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".zip"):
        return "zip"
    if lowered.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    raise ArchiveFormatError(f"not a .zip or .tar.gz archive: {name}")


def watermark(*, source: IO[bytes], name: str, licensee_text: str) -> WatermarkedArchive:
    """Copy the archive `source` (named `name`, which says its format) adding LICENSEE.txt."""
    fmt = archive_format(name)
    out = tempfile.TemporaryFile()  # noqa: SIM115 -- handed to the caller, who closes it
    try:
        payload = licensee_text.encode("utf-8")
        if fmt == "zip":
            _watermark_zip(source, out, payload)
        else:
            _watermark_tar(source, out, payload)
        out.seek(0)
        digest, size = hashlib.sha256(), 0
        while chunk := out.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
        out.seek(0)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        out.close()
        raise ArchiveFormatError(str(exc)) from exc
    except BaseException:
        out.close()
        raise
    return WatermarkedArchive(file=out, size=size, sha256=digest.hexdigest())


def _watermark_zip(source: IO[bytes], out: IO[bytes], payload: bytes) -> None:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w", allowZip64=True) as zout:
        for info in zin.infolist():
            if info.filename.rstrip("/") == LICENSEE_FILENAME:
                continue  # never let the original carry a LICENSEE.txt of its own
            with zin.open(info) as src, zout.open(_copy_zipinfo(info), "w") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
        licensee = zipfile.ZipInfo(LICENSEE_FILENAME, date_time=time.localtime()[:6])
        licensee.compress_type = zipfile.ZIP_DEFLATED
        licensee.external_attr = 0o644 << 16
        zout.writestr(licensee, payload)


def _copy_zipinfo(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    copy.compress_type = info.compress_type
    copy.external_attr = info.external_attr
    copy.create_system = info.create_system
    copy.comment = info.comment
    copy.file_size = info.file_size  # lets zipfile decide on zip64 for members over 2 GiB
    copy.extra = b""  # sizes are rewritten; stale zip64 extras would contradict them
    return copy


def _watermark_tar(source: IO[bytes], out: IO[bytes], payload: bytes) -> None:
    with (
        tarfile.open(fileobj=source, mode="r|gz") as tin,
        tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tout,
    ):
        for member in tin:
            if member.name.rstrip("/").removeprefix("./") == LICENSEE_FILENAME:
                continue
            if member.isfile():
                tout.addfile(member, tin.extractfile(member))
            else:
                tout.addfile(member)
        licensee = tarfile.TarInfo(LICENSEE_FILENAME)
        licensee.size = len(payload)
        licensee.mtime = int(time.time())
        licensee.mode = 0o644
        tout.addfile(licensee, io.BytesIO(payload))
