"""`manage.py demo`: load the demo district (管城回族区 with 陇海马路街道 and 二里岗街道) and its logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from jiedao.core.demo import MAX_SCALE, format_logins, load_demo
from jiedao.core.models import OrgUnit


class Command(BaseCommand):
    help = (
        "Load the demo district with one login per role (password jiedao-demo). Idempotent: running it again "
        "restores the canonical demo values without duplicating anything."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if any org unit exists already."
        )
        parser.add_argument(
            "--print-logins",
            action="store_true",
            help="Only print the table of demo logins (with --if-empty: load first if the database is empty)",
        )
        parser.add_argument(
            "--scale",
            type=int,
            default=1,
            metavar="N",
            help=f"Multiply the synthetic volume for benchmarks (1–{MAX_SCALE}; about N×100 org units).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scale: int = options["scale"]
        if not 1 <= scale <= MAX_SCALE:
            raise CommandError(_("--scale 须在 1 到 %(max)d 之间。") % {"max": MAX_SCALE})
        print_only: bool = options["print_logins"]
        if options["if_empty"] and OrgUnit.objects.exists():
            if print_only:
                self.stdout.write(format_logins())
            else:
                self.stdout.write(_("已有组织数据，未载入演示数据。"))
            return
        if print_only and not options["if_empty"]:
            self.stdout.write(format_logins())
            return

        result = load_demo(scale=scale, stdout=self.stdout)
        if print_only:
            self.stdout.write(format_logins())
            return
        totals = result.totals()
        created = sum(result.created.values())
        updated = sum(result.updated.values())
        self.stdout.write(
            self.style.SUCCESS(
                _("演示数据已就绪：新建 %(created)d 条，更新 %(updated)d 条。")
                % {"created": created, "updated": updated}
            )
        )
        units = totals["units"]
        self.stdout.write(
            _(
                "组织单元：区 %(district)d、街道 %(subdistrict)d、社区 %(community)d、"
                "行政村 %(village)d、网格 %(grid)d；科室 %(departments)d；用户 %(users)d；"
                "任职 %(memberships)d；联系点 %(contacts)d。"
            )
            % {
                "district": units.get("district", 0),
                "subdistrict": units.get("subdistrict", 0),
                "community": units.get("community", 0),
                "village": units.get("village", 0),
                "grid": units.get("grid", 0),
                "departments": totals["departments"],
                "users": totals["users"],
                "memberships": totals["memberships"],
                "contacts": totals["contact_communities"],
            }
        )
        if result.steps:
            self.stdout.write(_("其他演示步骤：%(steps)s") % {"steps": "、".join(result.steps)})
        if not options["if_empty"]:  # `make run` loads with --if-empty, then prints the logins itself
            self.stdout.write("")
            self.stdout.write(format_logins())
