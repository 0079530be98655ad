"""Fetch one file from a list of mirrors: resumable, md5-verified, atomic.

Bytes land in ``<dest>.part``; a rerun resumes it with an HTTP Range request. Only a file whose
md5 matches is renamed to ``dest``, so ``dest`` existing means it was complete when written.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from tqdm import tqdm

from gankit.errors import DataError

TIMEOUT_S = 30
CHUNK_BYTES = 1 << 20
USER_AGENT = "gankit-downloader/0.1"

# What a flaky or absent network raises; anything else (a full disk, a read-only folder) is
# local and must not be blamed on the mirror.
NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError)


def md5_file(path: str | Path) -> str:
    """Hex md5 of a file, read in chunks so large files do not sit in memory."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    url_list: list[str], dest_path: str | Path, md5: str, progress: bool = True, hint: str = ""
) -> Path:
    """Download the first mirror that answers to ``dest_path`` and verify its md5.

    ``hint`` ends the error raised when every mirror fails (e.g. where to put the file by hand).
    """
    dest = Path(dest_path)
    part = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create {dest.parent}: {e.strerror or e}") from None
    failures: list[tuple[str, BaseException]] = []
    for url in url_list:
        resumed = part.exists() and part.stat().st_size > 0
        try:
            fetch(url, part, progress)
        except NETWORK_ERRORS as e:
            failures.append((url, e))
            continue
        except OSError as e:
            raise DataError(f"cannot write {part}: {e.strerror or e}") from None
        return verify_and_commit(part, dest, md5, url, resumed)
    raise DataError(all_failed_message(dest.name, failures, hint or f"download it to {dest}"))


def fetch(url: str, part: Path, progress: bool) -> None:
    """Append the rest of ``url`` to ``part`` (all of it when the server ignores Range)."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:
            # The part is as long as (or longer than) the file: already complete, or stale.
            # Let the md5 check decide; a stale one is deleted there.
            return
        raise
    with response:
        if offset and not resumes_at(response, offset):
            offset = 0  # a 200 (Range ignored) or an unexpected range: start over
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        with open(part, "ab" if offset else "wb") as out, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
            desc=part.name.removesuffix(".part"), leave=False,
            disable=not progress or not sys.stderr.isatty(),
        ) as bar:
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                bar.update(len(chunk))


def resumes_at(response, offset: int) -> bool:
    """Whether the server answered a Range request with bytes starting at ``offset``."""
    content_range = response.headers.get("Content-Range", "")
    return response.status == 206 and content_range.startswith(f"bytes {offset}-")


def verify_and_commit(part: Path, dest: Path, md5: str, url: str, resumed: bool) -> Path:
    """Rename ``part`` to ``dest`` if its md5 matches; otherwise delete it and raise."""
    actual = md5_file(part)
    if actual != md5:
        part.unlink(missing_ok=True)
        cause = "resumed from an older partial file; " if resumed else ""
        raise DataError(
            f"{dest.name} from {url} has md5 {actual}, expected {md5} ({cause}deleted it): "
            "run again, or put a verified copy at " + str(dest)
        )
    os.replace(part, dest)  # atomic on one filesystem: readers never see a half file
    return dest


def all_failed_message(name: str, failures: list[tuple[str, BaseException]], hint: str) -> str:
    """One line: why each mirror failed, and what to do."""
    reasons = ", ".join(f"{urlsplit(url).netloc}: {describe(e)}" for url, e in failures)
    offline = failures and not any(isinstance(e, urllib.error.HTTPError) for _, e in failures)
    prefix = "you seem to be offline: " if offline else ""
    return f"could not download {name} ({reasons or 'no mirrors given'}); {prefix}{hint}"


def describe(error: BaseException) -> str:
    """A short reason: 'HTTP 404 Not Found', 'timed out', 'Connection refused'."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    reason = getattr(error, "reason", None) or error
    text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return text.replace("\n", " ")
