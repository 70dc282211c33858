"""The default hazard point kinds (积水点, 涵洞/下穿通道, 危房, 危树, 户外广告牌, 老旧小区, 地面塌陷, 其他)."""

from typing import Any

from django.db import migrations


def add_kinds(apps: Any, schema_editor: Any) -> None:
    from jiedao.patrol.kinds import ensure_default_kinds

    ensure_default_kinds(apps.get_model("patrol", "HazardKind"))


class Migration(migrations.Migration):
    dependencies = [("patrol", "0001_initial")]

    operations = [migrations.RunPython(add_kinds, migrations.RunPython.noop)]
