"""A small expropriation project in the test world.

陇海东路第一社区 (community_a) hosts 测试征收项目, led by the sub-district's leader. 一组 is led by
comm_a with grid_a as member (grid_a's own unit is a grid: it sees the project as a participant, not by
scope); 二组 is led by dept_xinfang. Household A-1 is grid_a's (一组), household B-1 is
dept_xinfang's (二组). Outside: comm_b (another community), other_leader (another sub-district), the
volunteer (no role), grid_b (not on it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile

from jiedao.cases.uploads import check_uploads
from jiedao.core.models import User
from jiedao.relocation import services
from jiedao.relocation.models import DocumentKind, ExpropriationHousehold, ExpropriationProject, Stage, Team
from tests.world import World

PROJECT_NAME = "测试征收项目"
PDF = b"%PDF-1.4\n%%EOF\n"


@dataclass
class Setup:
    project: ExpropriationProject
    team1: Team
    team2: Team
    a1: ExpropriationHousehold
    b1: ExpropriationHousehold

    def kind(self, name: str) -> DocumentKind:
        return DocumentKind.objects.get(project=self.project, name=name)


def build(world: World) -> Setup:
    found = ExpropriationProject.objects.filter(name=PROJECT_NAME).first()
    if found is not None:
        return Setup(
            found,
            Team.objects.get(project=found, name="一组"),
            Team.objects.get(project=found, name="二组"),
            ExpropriationHousehold.objects.get(project=found, number="A-1"),
            ExpropriationHousehold.objects.get(project=found, number="B-1"),
        )
    leader = world["leader"]
    project = services.create_project(
        leader,
        org_unit=world.community_a,
        name=PROJECT_NAME,
        leader=leader,
        start_date=date.today() - timedelta(days=30),
        target_date=date.today() + timedelta(days=30),
        target_signed=10,
        target_vacated=8,
    )
    team1 = services.save_team(
        leader, project, name="一组", leader=world["comm_a"], members=[world["grid_a"]]
    )
    team2 = services.save_team(leader, project, name="二组", leader=world["dept_xinfang"], members=[])
    a1 = services.create_household(
        leader,
        project,
        number="A-1",
        owner_name="王建国",
        phone="13812345678",
        address="陇海东路 1 号",
        team=team1,
        staff=world["grid_a"],
        surveyed_on=date.today() - timedelta(days=20),
    )
    b1 = services.create_household(
        leader,
        project,
        number="B-1",
        owner_name="李秀英",
        phone="13987654321",
        team=team2,
        staff=world["dept_xinfang"],
        surveyed_on=date.today() - timedelta(days=20),
    )
    return Setup(project, team1, team2, a1, b1)


def pdf(name: str = "证明.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def file_documents(setup: Setup, household: ExpropriationHousehold, stage: str, user: User) -> None:
    """Upload every document required to enter `stage` (as `user`)."""
    for kind in services.required_kinds(list(setup.project.document_kinds.all()), stage):
        services.upload_documents(user, household, kind, check_uploads([], [pdf(f"{kind.name}.pdf")]))


def move_to(
    setup: Setup, household: ExpropriationHousehold, stage: str, user: User
) -> ExpropriationHousehold:
    """Walk the household forward to `stage` (documents filed, valuation set on the way)."""
    household.refresh_from_db()
    while household.stage != stage:
        target = services.next_stage(household.stage)
        assert target is not None
        file_documents(setup, household, target, user)
        if target == Stage.NEGOTIATION and household.valuation is None:
            household = services.update_household(
                user, household, version=household.version, valuation=100000
            )
        household = services.advance(user, household, version=household.version)
    return household
