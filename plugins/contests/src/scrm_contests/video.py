"""Recognising a video by its content: an MP4 (ISO base media file) or a WebM (Matroska's web profile).

Videos are not decoded (that would take a codec library the plugin does not carry): the container
is checked instead. An MP4 starts with an ``ftyp`` box naming an MP4 brand (a HEIF/AVIF image or a
QuickTime movie is not one), and its top-level boxes must tile the file exactly and include ``moov``,
so a truncated upload or a text file renamed ``.mp4`` is refused. A WebM starts with an EBML header
whose DocType is ``webm`` (a plain Matroska file is not one), followed by a Segment that must end where the file does and whose elements must be whole (a browser's
MediaRecorder writes a Segment and Clusters of unknown size: their elements are walked to the end of
the file instead).
"""

from __future__ import annotations

MP4 = "video/mp4"
WEBM = "video/webm"
#: ftyp brands of MP4 files (ISO base media, MPEG-4, H.264, DASH)
MP4_BRANDS = frozenset({b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash"})
#: major brands of still images in the same container, which also list ISO brands
IMAGE_BRANDS = frozenset({b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1"})
#: more top-level boxes than any real MP4 has: a file made of tiny boxes is refused, not walked
MAX_BOXES = 10_000
#: more elements than a long recording has outside its known-size blocks (the walk is bounded)
MAX_ELEMENTS = 200_000
EBML = b"\x1a\x45\xdf\xa3"
DOCTYPE = b"\x42\x82"
SEGMENT = b"\x18\x53\x80\x67"


def sniff(data: bytes) -> str | None:
    """The content type the first bytes claim (MP4 or WebM), or None for anything else."""
    if data[4:8] == b"ftyp":
        return MP4
    if data.startswith(EBML):
        return WEBM
    return None


def _mp4_boxes(data: bytes) -> list[bytes] | None:
    """The types of the top-level boxes, or None unless they tile the file exactly."""
    at, kinds = 0, list[bytes]()
    while at < len(data):
        if at + 8 > len(data) or len(kinds) >= MAX_BOXES:
            return None
        size, header = int.from_bytes(data[at : at + 4], "big"), 8
        if size == 1:  # a 64-bit size follows the type
            size, header = int.from_bytes(data[at + 8 : at + 16], "big"), 16
        elif size == 0:  # the box runs to the end of the file
            size = len(data) - at
        if size < header or at + size > len(data):
            return None
        kinds.append(data[at + 4 : at + 8])
        at += size
    return kinds


def check_mp4(data: bytes) -> str | None:
    """Why ``data`` is not a whole MP4 video, or None when it is."""
    ftyp_size = int.from_bytes(data[:4], "big")
    brands = {data[i : i + 4] for i in range(16, min(ftyp_size, len(data)) - 3, 4)} | {data[8:12]}
    if data[8:12] in IMAGE_BRANDS or not brands & MP4_BRANDS:
        return "not an MP4 video: its brand is " + data[8:12].decode("latin-1").strip()
    kinds = _mp4_boxes(data)
    if kinds is None or b"moov" not in kinds:
        return "the MP4 video is corrupt or truncated"
    return None


def _vint(data: bytes, at: int) -> tuple[int, int, bool] | None:
    """An EBML variable-length number at ``at``: (value, its length, whether it means "unknown")."""
    if at >= len(data) or data[at] == 0:
        return None
    length = 9 - data[at].bit_length()
    if at + length > len(data):
        return None
    value = data[at] & ((1 << (8 - length)) - 1)
    for byte in data[at + 1 : at + length]:
        value = value << 8 | byte
    return value, length, value == (1 << (7 * length)) - 1


def _element(data: bytes, at: int) -> tuple[bytes, int, int | None] | None:
    """The EBML element at ``at``: (its id, where its body starts, its size or None if unknown)."""
    ident = _vint(data, at)
    if ident is None:
        return None
    size = _vint(data, at + ident[1])
    if size is None:
        return None
    body = at + ident[1] + size[1]
    return data[at : at + ident[1]], body, None if size[2] else size[0]


def check_webm(data: bytes) -> str | None:
    """Why ``data`` is not a whole WebM video, or None when it is."""
    corrupt = "the WebM video is corrupt or truncated"
    header = _element(data, 0)
    if header is None or header[2] is None or header[1] + header[2] > len(data):
        return corrupt
    at, end, doctype = header[1], header[1] + header[2], b""
    while at < end:
        child = _element(data, at)
        if child is None or child[2] is None or child[1] + child[2] > end:
            return corrupt
        if child[0] == DOCTYPE:
            doctype = data[child[1] : child[1] + child[2]]
        at = child[1] + child[2]
    if doctype != b"webm":
        return "not a WebM video: its DocType is " + (doctype.decode("latin-1") or "missing")
    segment = _element(data, end)
    if segment is None or segment[0] != SEGMENT or segment[1] >= len(data):
        return corrupt
    if segment[2] is not None and segment[1] + segment[2] != len(data):
        return corrupt
    return None if _elements_fit(data, segment[1]) else corrupt


def _elements_fit(data: bytes, at: int) -> bool:
    """Whether the elements from ``at`` to the end of the file are whole: each of known size fits
    (its body is skipped), one of unknown size (a live recording's Cluster) is entered instead."""
    for _ in range(MAX_ELEMENTS):
        if at == len(data):
            return True
        element = _element(data, at)
        if element is None or (element[2] is not None and element[1] + element[2] > len(data)):
            return False
        at = element[1] if element[2] is None else element[1] + element[2]
    return False


def check(data: bytes, content_type: str) -> str | None:
    """Why ``data`` is not a whole video of the type :func:`sniff` found, or None when it is."""
    return check_mp4(data) if content_type == MP4 else check_webm(data)
