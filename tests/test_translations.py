"""Every UI string is translatable, and the English catalogue is complete and current.

Chinese is the source language (msgids); English translations live in jiedao/locale/en. A string added to the
code without an English translation fails here: run `make catalogue`, translate, and commit the .po file.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "jiedao" / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_english_catalogue_is_fully_translated() -> None:
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(CATALOGUE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    stats = result.stderr.strip()
    assert "untranslated" not in stats and "fuzzy" not in stats, stats


def test_english_catalogue_covers_every_string_in_the_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "jiedao"
    shutil.copytree(ROOT / "jiedao", copy, ignore=shutil.ignore_patterns("static", "locale", "__pycache__"))
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        call_command("makemessages", locale=["en"], no_obsolete=True, verbosity=0)
    generated = copy / "locale" / "en" / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgcmp", "--use-untranslated", str(CATALOGUE), str(generated)], capture_output=True, text=True
    )
    assert result.returncode == 0, (
        "strings missing from the English catalogue (run `make catalogue`):\n" + (result.stderr[-3000:])
    )


def test_no_untranslatable_chinese_in_templates() -> None:
    """Chinese text in a template outside {% translate %}/{% blocktranslate %} would never be translated."""
    import re

    tag = re.compile(
        r"{%\s*(?:translate|trans)\s+[\"'].*?[\"'].*?%}|{%\s*blocktrans.*?{%\s*endblocktrans\w*\s*%}"
        r"|_\(\s*[\"'][^\"']*[\"']\s*\)|{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}",
        re.S,
    )
    han = re.compile(r"[\u4e00-\u9fff]")
    offenders = []
    for template in ROOT.glob("jiedao/**/templates/**/*.html"):
        if template.name == "500.html":  # rendered without the translation machinery: bilingual by hand
            continue
        text = tag.sub("", template.read_text(encoding="utf-8"))
        text = re.sub(r">\s*中文\s*<", "><", text)  # the language switch names each language in itself
        if han.search(text):
            line = next(line for line in text.splitlines() if han.search(line))
            offenders.append(f"{template.relative_to(ROOT)}: {line.strip()[:80]}")
    assert not offenders, "\n".join(offenders)
