"""The people module's demo step: the places, households, residents, tags, care subjects (with the grid
workers' visits) and organisations of the demo district (`jiedao.people.bulk`). Idempotent: a community that
already holds compounds or residents is left as it is, so a second run adds nothing.

陇海东路第一社区 is built as seed 004 describes it (7 楼院, 64 buildings, 2,729 households, about 7,000
residents, about 40 % of them 65 or older); the other communities of the two real sub-districts get smaller
rosters (120 households each), and `manage.py demo --scale N` adds 430 households (≈ 1,110 residents) to each
community of the N − 1 synthetic sub-districts: ≈ 10,000 residents per step of scale, ≈ 1,000,000 at 100.
"""

from __future__ import annotations

from io import TextIOBase

from django.utils.translation import gettext as _

from jiedao.core.demo import register_demo_step
from jiedao.people import bulk


def demo_people(scale: int, stdout: TextIOBase) -> None:
    result = bulk.build(scale, stdout=stdout)
    created = result.created
    stdout.write(
        _(
            "人口房屋：%(communities)s 个社区新建小区 %(compounds)s 个、楼栋 %(buildings)s 栋、"
            "房屋 %(dwellings)s 套、户 %(households)s 户、居民 %(residents)s 人、标签 %(tags)s 条、"
            "关爱对象 %(care)s 人、走访 %(visits)s 次、单位组织 %(organisations)s 个"
            "（已有数据的 %(skipped)s 个社区未动）；用时 %(s).1f 秒。"
        )
        % {
            "communities": result.communities,
            "compounds": f"{created.get('compound', 0):,}",
            "buildings": f"{created.get('building', 0):,}",
            "dwellings": f"{created.get('dwelling', 0):,}",
            "households": f"{created.get('household', 0):,}",
            "residents": f"{created.get('resident', 0):,}",
            "tags": f"{created.get('residenttag', 0):,}",
            "care": f"{created.get('caresubject', 0):,}",
            "visits": f"{created.get('visit', 0):,}",
            "organisations": f"{created.get('organisation', 0):,}",
            "skipped": result.skipped,
            "s": result.seconds,
        }
        + "\n"
    )


register_demo_step("people.places_and_residents", demo_people)
