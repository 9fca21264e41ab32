"""Where submissions' files live: a local directory under the data dir (the default) or an
S3-compatible bucket (AWS S3, MinIO, Ceph, 阿里云 OSS's S3 endpoint…) through boto3.

Chosen per process from the environment:

``SCRM_CONTESTS_STORAGE``
    ``local`` (default): ``<SCRM_DATA_DIR>/contests-media``; ``s3``: a bucket.
``SCRM_CONTESTS_S3_BUCKET``, ``SCRM_CONTESTS_S3_ENDPOINT_URL``, ``SCRM_CONTESTS_S3_REGION``, ``SCRM_CONTESTS_S3_PREFIX``
    the bucket, the endpoint of an S3-compatible service (blank for AWS), its region, and a key
    prefix; credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID`` and so on).

Keys are random (``<workspace>/<contest>/<token>``): nothing about a file's address can be guessed,
and files are never served from the store's own address but through the plugin's signed links. A
key is written once and never rewritten, so what it holds never changes.

Files are read in part and in chunks (:meth:`Storage.read`): a player asks for the bytes it needs
of a video, and no file is read whole into the API process's memory to be served.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import scrm

#: the most a read holds in memory at once
CHUNK = 64 * 1024


class Storage(Protocol):
    """A place for files, by key."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def size(self, key: str) -> int | None:
        """The file's length in bytes; None when there is no such file."""
        ...

    def read(self, key: str, offset: int, length: int) -> AsyncIterator[bytes]:
        """``length`` bytes of the file from ``offset`` (both within its :meth:`size`), in chunks of at
        most :data:`CHUNK` bytes. A file deleted since its :meth:`size` may end the iteration with an error."""
        ...

    async def delete(self, keys: list[str]) -> None: ...


class LocalStorage:
    """Files in a directory: one file per key (keys are ``/``-separated, made only of safe characters)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"storage key {key!r} leaves the storage directory")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.write_bytes(data)
            partial.replace(path)  # readers never see half a file

        await asyncio.to_thread(write)

    async def size(self, key: str) -> int | None:
        path = self._path(key)
        try:
            return (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return None

    async def read(self, key: str, offset: int, length: int) -> AsyncIterator[bytes]:
        with await asyncio.to_thread(self._path(key).open, "rb") as file:
            await asyncio.to_thread(file.seek, offset)
            while length > 0:
                chunk = await asyncio.to_thread(file.read, min(CHUNK, length))
                if not chunk:
                    return
                length -= len(chunk)
                yield chunk

    async def delete(self, keys: list[str]) -> None:
        def remove() -> None:
            for key in keys:
                self._path(key).unlink(missing_ok=True)

        await asyncio.to_thread(remove)


class S3Storage:
    """Files in an S3-compatible bucket (boto3's client is thread-safe; calls run in threads)."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        prefix: str = "",
        client: Any = None,
    ) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=self.prefix + key, Body=data, ContentType=content_type
        )

    async def size(self, key: str) -> int | None:
        def head() -> int | None:
            try:
                answer = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
            except self.client.exceptions.ClientError as error:
                if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise
            size: int = answer["ContentLength"]
            return size

        return await asyncio.to_thread(head)

    async def read(self, key: str, offset: int, length: int) -> AsyncIterator[bytes]:
        """One ranged GetObject, its body read a chunk at a time as the response is sent."""
        if length <= 0:
            return
        answer = await asyncio.to_thread(
            self.client.get_object,
            Bucket=self.bucket,
            Key=self.prefix + key,
            Range=f"bytes={offset}-{offset + length - 1}",
        )
        body = answer["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # S3 deletes at most 1,000 keys per call
            chunk = keys[start : start + 1000]

            def remove(chunk: list[str] = chunk) -> None:
                self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": self.prefix + k} for k in chunk]}
                )

            await asyncio.to_thread(remove)


def from_env(env: Mapping[str, str], data_dir: Path) -> Storage:
    """The storage the environment names (see the module's docstring)."""
    kind = env.get("SCRM_CONTESTS_STORAGE", "local").strip().lower() or "local"
    if kind == "local":
        return LocalStorage(data_dir / "contests-media")
    if kind == "s3":
        bucket = env.get("SCRM_CONTESTS_S3_BUCKET", "").strip()
        if not bucket:
            raise RuntimeError("SCRM_CONTESTS_STORAGE=s3 needs SCRM_CONTESTS_S3_BUCKET")
        return S3Storage(
            bucket,
            endpoint_url=env.get("SCRM_CONTESTS_S3_ENDPOINT_URL"),
            region=env.get("SCRM_CONTESTS_S3_REGION"),
            prefix=env.get("SCRM_CONTESTS_S3_PREFIX", ""),
        )
    raise RuntimeError(f"SCRM_CONTESTS_STORAGE is {kind!r}: use local or s3")


_stores: weakref.WeakKeyDictionary[scrm.Kernel, Storage] = weakref.WeakKeyDictionary()


def of(kernel: scrm.Kernel) -> Storage:
    """The kernel's storage, made from the environment on first use."""
    store = _stores.get(kernel)
    if store is None:
        store = _stores[kernel] = from_env(os.environ, kernel.settings.data_dir)
    return store


def use(kernel: scrm.Kernel, store: Storage) -> None:
    """Put ``store`` in place for ``kernel`` (tests, or an embedding application)."""
    _stores[kernel] = store
