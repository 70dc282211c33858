"""Checking uploaded photos and files before they are attached to a case: size, type, and for photos that the
bytes really are an image (Pillow opens and verifies them). Messages say which file and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILES = 9
PHOTO_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "MPO": "image/jpeg",
}
FILE_TYPES = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}


@dataclass(frozen=True)
class CheckedUpload:
    file: Any
    name: str
    size: int
    content_type: str
    kind: str  # "photo" | "file"


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


def check_photo(upload: UploadedFile) -> CheckedUpload:
    from PIL import Image, UnidentifiedImageError

    name = (upload.name or "photo")[-200:]
    size = upload.size or 0
    if size > MAX_PHOTO_BYTES:
        raise ValidationError(
            _("照片“%(name)s”有 %(size)s，超过上限 %(max)s。请压缩后重新上传。")
            % {"name": name, "size": _mb(size), "max": _mb(MAX_PHOTO_BYTES)}
        )
    if size == 0:
        raise ValidationError(_("照片“%(name)s”是空文件。") % {"name": name})
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format or ""
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(
            _("“%(name)s”不是可识别的图片（支持 JPEG、PNG、WEBP、GIF）。") % {"name": name}
        ) from None
    finally:
        upload.seek(0)
    if image_format not in PHOTO_FORMATS:
        raise ValidationError(
            _("“%(name)s”的图片格式 %(fmt)s 不受支持（支持 JPEG、PNG、WEBP、GIF）。")
            % {"name": name, "fmt": image_format}
        )
    return CheckedUpload(upload, name, size, PHOTO_FORMATS[image_format], "photo")


def check_file(upload: UploadedFile) -> CheckedUpload:
    name = (upload.name or "file")[-200:]
    size = upload.size or 0
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in FILE_TYPES:
        raise ValidationError(
            _("“%(name)s”的文件类型不受支持（支持 %(types)s）。")
            % {"name": name, "types": " ".join(sorted(FILE_TYPES))}
        )
    if size > MAX_FILE_BYTES:
        raise ValidationError(
            _("文件“%(name)s”有 %(size)s，超过上限 %(max)s。")
            % {"name": name, "size": _mb(size), "max": _mb(MAX_FILE_BYTES)}
        )
    if size == 0:
        raise ValidationError(_("文件“%(name)s”是空文件。") % {"name": name})
    return CheckedUpload(upload, name, size, FILE_TYPES[suffix], "file")


def check_uploads(photos: list[UploadedFile], files: list[UploadedFile] | None = None) -> list[CheckedUpload]:
    """Check every upload; raise one ValidationError listing every bad file (to be fixed all at once)."""
    files = files or []
    if len(photos) + len(files) > MAX_FILES:
        raise ValidationError(_("一次最多上传 %(n)s 个文件。") % {"n": MAX_FILES})
    checked: list[CheckedUpload] = []
    errors: list[str] = []
    for upload in photos:
        try:
            checked.append(check_photo(upload))
        except ValidationError as exc:
            errors.extend(exc.messages)
    for upload in files:
        try:
            checked.append(check_file(upload))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    return checked
