#!/usr/bin/env python3
"""Copy the front-end files Jiedao serves from node_modules/ into jiedao/static/vendor/ (git-ignored).

Run after `npm ci` (the Makefile does both). Standard library only. Idempotent: the vendor folder is built
afresh in a temporary folder next to it and swapped in, so a failed run leaves the previous one intact.
Fails loudly, naming the file, when a source file is missing — usually a package upgraded in package.json
that moved its dist files. Files referenced from a copied CSS file (`url(...)`: fonts, images) or from a
`sourceMappingURL` comment are copied along, because the production static storage
(whitenoise's CompressedManifestStaticFilesStorage) refuses to collect a CSS or JS file whose references
are missing.

Layout (what templates use with {% static %}):
    vendor/htmx/htmx.min.js
    vendor/echarts/echarts.min.js
    vendor/leaflet/leaflet.js, leaflet.css, images/*.png
    vendor/tabler/css/tabler.min.css, vendor/tabler/js/tabler.min.js
    vendor/tabler-icons/tabler-icons.min.css, tabler-icons-filled.min.css, fonts/*
    vendor/VERSIONS.json  (package versions, for the about page and bug reports)
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "jiedao" / "static" / "vendor"

# package -> (source inside the package, destination inside vendor/); a source ending in "/" is a folder.
FILES: dict[str, list[tuple[str, str]]] = {
    "htmx.org": [
        ("dist/htmx.min.js", "htmx/htmx.min.js"),
    ],
    "echarts": [
        ("dist/echarts.min.js", "echarts/echarts.min.js"),
    ],
    "leaflet": [
        ("dist/leaflet.js", "leaflet/leaflet.js"),
        ("dist/leaflet.css", "leaflet/leaflet.css"),
        ("dist/images/", "leaflet/images/"),
    ],
    "@tabler/core": [
        ("dist/css/tabler.min.css", "tabler/css/tabler.min.css"),
        ("dist/js/tabler.min.js", "tabler/js/tabler.min.js"),
    ],
    "@tabler/icons-webfont": [
        ("dist/tabler-icons.min.css", "tabler-icons/tabler-icons.min.css"),
        ("dist/tabler-icons-filled.min.css", "tabler-icons/tabler-icons-filled.min.css"),
    ],
}

# Expected major versions: a different major is an upgrade someone must look at (htmx 4 is not htmx 2).
MAJORS = {"htmx.org": "2", "echarts": "6", "leaflet": "1", "@tabler/core": "1", "@tabler/icons-webfont": "3"}

CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
SOURCE_MAP = re.compile(r"""[#@]\s*sourceMappingURL=([^\s*'"]+)""")


class BuildError(Exception):
    pass


def package_version(package: str) -> str:
    manifest = NODE_MODULES / package / "package.json"
    if not manifest.is_file():
        raise BuildError(f"{manifest.relative_to(ROOT)} is missing: run `npm ci` (or `make assets`) first.")
    version = str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    expected = MAJORS.get(package)
    if expected is not None and version.split(".")[0] != expected:
        raise BuildError(
            f"{package} is version {version}, but Jiedao expects major version {expected}; "
            "check package.json and scripts/build_assets.py."
        )
    return version


def local_references(path: Path) -> list[str]:
    """Relative files a CSS/JS file points at (fonts, images, source maps); no data: URIs or absolute URLs."""
    if path.suffix not in {".css", ".js"}:
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    found: list[str] = []
    if path.suffix == ".css":
        found += [match.group(2) for match in CSS_URL.finditer(text)]
    found += SOURCE_MAP.findall(text[-2000:])  # the comment sits at the end of the file
    result = []
    for ref in found:
        ref = ref.strip()
        if not ref or ref.startswith(("data:", "#", "/", "http:", "https:", "//")):
            continue
        ref = ref.split("#", 1)[0].split("?", 1)[0]
        if ref:
            result.append(ref)
    return result


def copy_file(source: Path, target: Path, copied: set[Path]) -> None:
    if not source.is_file():
        raise BuildError(f"missing source file {source.relative_to(ROOT)}")
    if target in copied:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    copied.add(target)
    for ref in local_references(source):
        ref_source = (source.parent / ref).resolve()
        ref_target = (target.parent / ref).resolve()
        if not ref_source.is_file():
            raise BuildError(f"{source.relative_to(ROOT)} refers to {ref}, which is missing at {ref_source}")
        copy_file(ref_source, ref_target, copied)


def build(destination: Path) -> dict[str, str]:
    versions: dict[str, str] = {}
    copied: set[Path] = set()
    for package, entries in FILES.items():
        versions[package] = package_version(package)
        base = NODE_MODULES / package
        for source_name, target_name in entries:
            source = base / source_name
            target = destination / target_name
            if source_name.endswith("/"):
                if not source.is_dir():
                    raise BuildError(f"missing source folder {source.relative_to(ROOT)}")
                files = sorted(p for p in source.rglob("*") if p.is_file())
                if not files:
                    raise BuildError(f"source folder {source.relative_to(ROOT)} is empty")
                for file in files:
                    copy_file(file, target / file.relative_to(source), copied)
            else:
                copy_file(source, target, copied)
    (destination / "VERSIONS.json").write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n", "utf-8")
    return versions


def main() -> int:
    staging = VENDOR.with_name("vendor.tmp")
    old = VENDOR.with_name("vendor.old")
    for leftover in (staging, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    try:
        versions = build(staging)
    except BuildError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        print(f"build_assets: ERROR: {exc}", file=sys.stderr)
        return 1
    if VENDOR.exists():
        VENDOR.rename(old)
    staging.rename(VENDOR)
    if old.exists():
        shutil.rmtree(old)
    count = sum(1 for p in VENDOR.rglob("*") if p.is_file())
    listing = ", ".join(f"{name} {version}" for name, version in versions.items())
    print(f"build_assets: {count} files in {VENDOR.relative_to(ROOT)} ({listing})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
