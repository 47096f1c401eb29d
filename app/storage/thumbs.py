"""Thumbnails of image evidence (PNG, JPEG, WebP only), with a guard against decompression bombs,
made once per content and kept (`cached_thumbnail`)."""

from __future__ import annotations

import io
import os
import secrets
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from app.storage.errors import ImageTooLarge, ThumbnailError

_FORMATS = ("PNG", "JPEG", "WEBP")


def make_thumbnail(path_or_stream: str | os.PathLike | BinaryIO, max_px: int = 320, *, max_pixels: int | None = None) -> bytes:
    """A thumbnail no larger than `max_px` on either side: PNG when the image has transparency,
    JPEG otherwise (look at the first bytes, or run `classify`, for the type).

    Images with more than `max_pixels` pixels (default: Pillow's `Image.MAX_IMAGE_PIXELS`, about
    89 megapixels) are refused with `ImageTooLarge` BEFORE any pixel is decoded: the size is read
    from the header, and Pillow's own DecompressionBombWarning/Error are turned into the same error.
    Anything that is not a readable PNG/JPEG/WebP raises `ThumbnailError`.
    """
    if max_px < 1:
        raise ValueError("max_px must be at least 1")
    limit = max_pixels if max_pixels is not None else (Image.MAX_IMAGE_PIXELS or 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path_or_stream, formats=_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(_('The image is too large to preview (%(exc)s).', exc=exc)) from exc
    except UnidentifiedImageError as exc:
        raise ThumbnailError(_('The file is not a PNG, JPEG or WebP image that can be previewed.')) from exc
    except OSError as exc:
        raise ThumbnailError(_('The image cannot be read (%(exc)s).', exc=exc)) from exc
    original = img
    try:
        width, height = img.size
        if limit and width * height > limit:
            raise ImageTooLarge(_('The image is too large to preview (%(width)sx%(height)s pixels; at most %(limit)s pixels).', width=width, height=height, limit=limit))
        try:
            img.draft("RGB", (max_px, max_px))  # JPEG: decode at a reduced scale, far less memory
            img.load()
            img = ImageOps.exif_transpose(img) or img
            img.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise ThumbnailError(_('The image cannot be read (%(exc)s).', exc=exc)) from exc
        out = io.BytesIO()
        if _has_alpha(img):
            img.convert("RGBA").save(out, "PNG", optimize=True)
        else:
            img.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
        return out.getvalue()
    finally:
        if img is not original:
            img.close()
        original.close()


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info) or "transparency" in img.info


_NONE = b""  # the cached answer "this image has no preview"


def cached_thumbnail(cache_dir: str | os.PathLike, sha256: str, open_image: Callable[[], AbstractContextManager[BinaryIO]], max_px: int,
                     *, max_pixels: int | None = None) -> bytes | None:
    """The thumbnail of the image with this SHA-256, made once and kept in `cache_dir` (files are
    content-addressed, so a thumbnail never goes stale and identical uploads share it); None when
    the image cannot be previewed (unreadable, or over `max_pixels`) - also decided once.
    `open_image()` gives the verified original, and is only called when nothing is cached."""
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256")
    path = Path(cache_dir) / sha256[:2] / f"{sha256}-{max_px}.thumb"
    try:
        data = path.read_bytes()
        return data or None
    except FileNotFoundError:
        pass
    try:
        with open_image() as f:
            data = make_thumbnail(f, max_px, max_pixels=max_pixels)
    except ThumbnailError:
        data = _NONE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # atomic: a reader sees the whole thumbnail or none
    return data or None
