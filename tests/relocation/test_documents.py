"""The document folder: the checklist shows what is missing, uploads are checked like the cases app's, a
stage is blocked until its documents are in, the checklist is configurable per project."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from jiedao.cases.uploads import check_uploads
from jiedao.relocation import services
from jiedao.relocation.filters import HouseholdFilterSet
from jiedao.relocation.models import ExpropriationHousehold, HouseholdDocument, Stage
from tests.relocation.helpers import Setup, move_to, pdf
from tests.world import World

pytestmark = pytest.mark.django_db


def names(kinds: list) -> set[str]:
    return {k.name for k in kinds}


def test_missing_is_what_the_next_stage_needs(world: World, setup: Setup) -> None:
    assert names(services.missing_kinds(setup.a1)) == {"身份证明及户口簿", "产权证明"}
    setup.a1.refresh_from_db()
    assert setup.a1.missing_documents == 2
    services.upload_documents(world["grid_a"], setup.a1, setup.kind("产权证明"), check_uploads([], [pdf()]))
    setup.a1.refresh_from_db()
    assert names(services.missing_kinds(setup.a1)) == {"身份证明及户口簿"}
    assert setup.a1.missing_documents == 1
    household = move_to(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    assert names(services.missing_kinds(household)) == {"评估报告"}
    assert household.missing_documents == 1


def test_missing_filter_serves_the_list(world: World, setup: Setup) -> None:
    move_to(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    services.upload_documents(world["grid_a"], setup.a1, setup.kind("评估报告"), check_uploads([], [pdf()]))
    qs = ExpropriationHousehold.objects.filter(project=setup.project)
    missing = HouseholdFilterSet({"missing": "true"}, queryset=qs).qs
    complete = HouseholdFilterSet({"missing": "false"}, queryset=qs).qs
    assert list(missing) == [setup.b1] and list(complete) == [
        ExpropriationHousehold.objects.get(pk=setup.a1.pk)
    ]


def test_checklist_is_configurable_and_recounts(world: World, setup: Setup) -> None:
    services.save_document_kind(
        world["leader"], setup.project, name="房屋测绘报告", required_stage=Stage.VALUATION
    )
    setup.a1.refresh_from_db()
    assert setup.a1.missing_documents == 3
    kind = setup.kind("产权证明")
    services.save_document_kind(world["leader"], setup.project, kind=kind, name="产权证明", required_stage="")
    setup.a1.refresh_from_db()
    assert setup.a1.missing_documents == 2
    with pytest.raises(ValidationError):
        services.save_document_kind(world["leader"], setup.project, name="房屋测绘报告")


def test_page_shows_missing_items_and_refusal(world: World, setup: Setup, client_for) -> None:
    client: Client = client_for("grid_a")
    page = client.get(reverse("relocation:household_detail", kwargs={"pk": setup.a1.pk})).content.decode()
    assert page.count('data-testid="missing-item"') == 2
    assert 'data-testid="advance-refusal"' in page and "产权证明" in page


def test_upload_through_the_page_checks_type_and_files_it(world: World, setup: Setup, client_for) -> None:
    client: Client = client_for("grid_a")
    url = reverse("relocation:household_upload", kwargs={"pk": setup.a1.pk})
    kind = setup.kind("产权证明")
    bad = SimpleUploadedFile("病毒.exe", b"MZ...", content_type="application/octet-stream")
    response = client.post(url, {"kind": kind.pk, "upload": [bad]})
    assert response.status_code == 400
    assert "文件类型不受支持" in response.content.decode()
    assert not HouseholdDocument.objects.exists()
    response = client.post(url, {"kind": kind.pk, "upload": [pdf("房产证.pdf")]})
    assert response.status_code == 302
    document = HouseholdDocument.objects.get()
    assert document.name == "房产证.pdf" and document.kind == kind and document.uploaded_by == world["grid_a"]
    download = client.get(reverse("relocation:document_download", kwargs={"pk": document.pk}))
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]


def test_required_document_of_a_passed_stage_cannot_be_deleted_alone(world: World, setup: Setup) -> None:
    household = move_to(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    document = HouseholdDocument.objects.get(household=household, kind__name="产权证明")
    with pytest.raises(ValidationError, match="不能删除"):
        services.delete_document(world["grid_a"], document)
    services.upload_documents(
        world["grid_a"], household, document.kind, check_uploads([], [pdf("第二份.pdf")])
    )
    services.delete_document(world["grid_a"], document)
    assert HouseholdDocument.objects.filter(household=household, kind=document.kind).count() == 1


def test_auditor_may_not_upload(world: World, setup: Setup) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.upload_documents(
            world["auditor"], setup.a1, setup.kind("产权证明"), check_uploads([], [pdf()])
        )
