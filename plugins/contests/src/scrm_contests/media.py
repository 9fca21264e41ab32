"""Checking uploaded files and making thumbnails.

A file's type is what its content says, never its name: the first bytes must be those of a JPEG,
PNG, GIF or WebP image, and Pillow must decode the whole image to the same format (a truncated or
corrupt file fails there, and so does a text file renamed ``.jpg``). Where the contest allows video,
an MP4 or WebM passes when its container is whole (:mod:`scrm_contests.video`), under the contest's
own video size limit; a video has no thumbnail and no dimensions (it is not decoded). Empty files,
files over the size limit and images over :data:`MAX_PIXELS` are refused too. Every refusal is a 422
that names the file (``media[<i>]``: ``<filename>: …``), all of a submission's files checked at once.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import scrm
from PIL import Image, UnidentifiedImageError

from scrm_contests import video
from scrm_contests.schemas import MediaKind

#: the first bytes of each accepted type, and the Pillow format it must decode as
MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "JPEG", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "PNG", "image/png"),
    (b"GIF87a", "GIF", "image/gif"),
    (b"GIF89a", "GIF", "image/gif"),
)
MAX_PIXELS = 50_000_000
THUMBNAIL = (480, 480)


@dataclass(frozen=True)
class Checked:
    """A file that passed: its bytes, identified type, dimensions, digest and thumbnail (JPEG; a
    video has none, and 0×0 dimensions)."""

    filename: str
    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str
    thumbnail: bytes | None


def kind_of(content_type: str) -> MediaKind:
    """``video`` or ``image``: what a stored file's type makes it."""
    return "video" if content_type.startswith("video/") else "image"


def sniff(data: bytes) -> tuple[str, str] | None:
    """(Pillow format, content type) from the first bytes, or None for anything else."""
    for magic, fmt, content_type in MAGIC:
        if data.startswith(magic):
            return fmt, content_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP", "image/webp"
    return None


def check_video(filename: str, data: bytes, content_type: str, max_video_bytes: int | None) -> Checked | str:
    """The checked video, or why it is refused; ``max_video_bytes`` None: the contest takes no video."""
    if max_video_bytes is None:
        return "this contest takes images only (JPEG, PNG, GIF or WebP), not video"
    if len(data) > max_video_bytes:
        return f"the video is {len(data)} bytes; this contest takes at most {max_video_bytes}"
    why = video.check(data, content_type)
    if why is not None:
        return why
    return Checked(filename, data, content_type, 0, 0, hashlib.sha256(data).hexdigest(), None)


def check(filename: str, data: bytes, max_bytes: int, max_video_bytes: int | None = None) -> Checked | str:
    """The checked file, or why it is refused (a message for the 422). CPU-bound: run in a thread.
    ``max_video_bytes`` is the contest's video limit, None where it takes no video."""
    if not data:
        return "the file is empty"
    video_type = video.sniff(data)
    if video_type is not None:
        return check_video(filename, data, video_type, max_video_bytes)
    if len(data) > max_bytes:
        return f"the file is {len(data)} bytes; this contest takes at most {max_bytes}"
    sniffed = sniff(data)
    if sniffed is None:
        also = ", or an MP4 or WebM video" if max_video_bytes is not None else ""
        return f"not an image: JPEG, PNG, GIF or WebP{also}, identified by content (not by name)"
    fmt, content_type = sniffed
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != fmt:
                    return f"the content is not a valid {fmt} image"
                width, height = image.size
                if width * height > MAX_PIXELS:
                    return f"the image is {width}×{height}; at most {MAX_PIXELS} pixels"
                image.load()  # decodes everything: a truncated or corrupt image fails here
                thumb = image.copy()
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        EOFError,
    ):
        return f"the {fmt} image is corrupt or truncated"
    thumb = thumb.convert("RGB")
    thumb.thumbnail(THUMBNAIL)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=80)
    return Checked(
        filename=filename,
        data=data,
        content_type=content_type,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        thumbnail=out.getvalue(),
    )


def refuse(errors: list[tuple[int, str, str]]) -> scrm.ValidationFailed:
    """One 422 naming every refused file: ``(index, filename, why)``."""
    return scrm.invalid_fields([scrm.field_error(f"media[{i}]", f"{name}: {why}") for i, name, why in errors])
