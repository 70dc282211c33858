"""The scoped REST API of people and places (/api/v1/residents/, /households/, /compounds/, /buildings/,
/dwellings/, /organisations/): list with the same FilterSets as the pages and exports, read, create and
update through the same services.

Residents' identity numbers and phones are masked in every answer. A caller who may reveal them asks for one
value with `POST /residents/{id}/reveal/` ({"field": "id_number" | "phone"}); every reveal is an audit event.
Writes take the clear values (`id_number`, `phone`) and never return them. Answers: 400 with field messages
for bad input; 403 for a refused role or a unit outside the caller's scope; 404 out of scope; 409 when the
record changed since the caller read it (`version`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from jiedao.cases.api import HasAction
from jiedao.core.models import OrgUnit
from jiedao.people import filters, services
from jiedao.people.models import (
    Building,
    Compound,
    Dwelling,
    Household,
    Organisation,
    Resident,
)


class UnitField(serializers.SlugRelatedField):
    """An org unit by its code; only communities and grids where the caller may change records."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="code", queryset=OrgUnit.objects.all(), **kwargs)


class RecordSerializer(serializers.ModelSerializer):
    org_unit = UnitField(required=False, help_text="Code of the grid or community the record belongs to.")
    version = serializers.IntegerField(
        read_only=True, help_text="Send it back with an update: a record changed since then answers 409."
    )


class CompoundSerializer(RecordSerializer):
    class Meta:
        model = Compound
        fields = [
            "id",
            "org_unit",
            "name",
            "aliases",
            "kind",
            "address",
            "is_old",
            "property_company",
            "longitude",
            "latitude",
            "note",
            "version",
        ]


class BuildingSerializer(RecordSerializer):
    class Meta:
        model = Building
        fields = [
            "id",
            "org_unit",
            "compound",
            "name",
            "floors",
            "entrance_count",
            "year_built",
            "structure",
            "is_old",
            "address",
            "note",
            "version",
        ]


class DwellingSerializer(RecordSerializer):
    entrance_name = serializers.CharField(source="entrance.name", read_only=True, allow_null=True)

    class Meta:
        model = Dwelling
        fields = [
            "id",
            "org_unit",
            "building",
            "entrance",
            "entrance_name",
            "number",
            "floor",
            "area",
            "use",
            "address",
            "version",
        ]
        read_only_fields = ["address"]


class HouseholdSerializer(RecordSerializer):
    class Meta:
        model = Household
        fields = ["id", "org_unit", "number", "kind", "dwelling", "address", "head", "note", "version"]
        read_only_fields = ["head"]


class OrganisationSerializer(RecordSerializer):
    class Meta:
        model = Organisation
        fields = [
            "id",
            "org_unit",
            "name",
            "kind",
            "credit_code",
            "address",
            "compound",
            "industry",
            "contact_name",
            "phone",
            "employees",
            "is_active",
            "note",
            "version",
        ]


class ResidentSerializer(RecordSerializer):
    id_number = serializers.CharField(
        write_only=True, required=False, allow_blank=True, help_text="In clear on write; never returned."
    )
    phone = serializers.CharField(
        write_only=True, required=False, allow_blank=True, help_text="In clear on write; never returned."
    )
    id_mask = serializers.CharField(read_only=True, help_text="410104********123X")
    phone_mask = serializers.CharField(read_only=True, help_text="138****5678")

    class Meta:
        model = Resident
        fields = [
            "id",
            "org_unit",
            "name",
            "id_number",
            "id_mask",
            "phone",
            "phone_mask",
            "birth_date",
            "sex",
            "ethnicity",
            "residence_type",
            "household",
            "relation",
            "dwelling",
            "address",
            "moved_in",
            "moved_out",
            "note",
            "version",
        ]


class RevealSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=["id_number", "phone"])


class RevealedSerializer(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField()


class RecordViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, read, create, update (PATCH/PUT with `version`) records the caller may see."""

    permission_classes = [HasAction]
    model: type[Any]
    related: tuple[str, ...] = ("org_unit",)
    http_method_names = ["get", "post", "patch", "put", "head", "options"]

    @property
    def required_action(self) -> str:
        verb = "view" if self.request.method in ("GET", "HEAD", "OPTIONS") else "change"
        return services.action_for(self.model, verb)

    def get_queryset(self) -> QuerySet[Any]:
        return self.model.objects.visible_to(self.request.user).select_related(*self.related).order_by("id")

    def _data(self, serializer: serializers.Serializer) -> dict[str, Any]:
        data = dict(serializer.validated_data)
        data.pop("version", None)
        return data

    def perform_create(self, serializer: Any) -> None:
        actor: Any = self.request.user
        serializer.instance = self._write(lambda: services.create(actor, self.model, self._data(serializer)))

    def perform_update(self, serializer: Any) -> None:
        data: Any = self.request.data
        version = data.get("version") if hasattr(data, "get") else None
        try:
            seen = int(version) if version is not None else None
        except (TypeError, ValueError):
            raise serializers.ValidationError({"version": "Must be an integer."}) from None
        obj = self.model.objects.get(pk=serializer.instance.pk)
        actor: Any = self.request.user
        serializer.instance = self._write(lambda: services.update(actor, obj, self._data(serializer), seen))

    def _write(self, write: Any) -> Any:
        try:
            return write()
        except services.ConflictError as exc:
            raise Conflict(exc.messages[0]) from exc
        except ValidationError as exc:
            raise serializers.ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
            ) from exc
        except PermissionDenied as exc:
            raise ApiPermissionDenied() from exc


class Conflict(serializers.ValidationError):
    status_code = status.HTTP_409_CONFLICT


@extend_schema(tags=["people"])
class CompoundViewSet(RecordViewSet):
    model = Compound
    serializer_class = CompoundSerializer
    filterset_class = filters.CompoundFilterSet


@extend_schema(tags=["people"])
class BuildingViewSet(RecordViewSet):
    model = Building
    serializer_class = BuildingSerializer
    filterset_class = filters.BuildingFilterSet


@extend_schema(tags=["people"])
class DwellingViewSet(RecordViewSet):
    model = Dwelling
    serializer_class = DwellingSerializer
    filterset_class = filters.DwellingFilterSet
    related = ("org_unit", "entrance")


@extend_schema(tags=["people"])
class HouseholdViewSet(RecordViewSet):
    model = Household
    serializer_class = HouseholdSerializer
    filterset_class = filters.HouseholdFilterSet


@extend_schema(tags=["people"])
class OrganisationViewSet(RecordViewSet):
    model = Organisation
    serializer_class = OrganisationSerializer
    filterset_class = filters.OrganisationFilterSet


@extend_schema(tags=["people"])
class ResidentViewSet(RecordViewSet):
    model = Resident
    serializer_class = ResidentSerializer
    filterset_class = filters.ResidentFilterSet

    @extend_schema(
        request=RevealSerializer,
        responses={200: RevealedSerializer, 403: OpenApiResponse(description="May not reveal")},
        description="The clear identity number or phone of one resident; recorded as a people.reveal event.",
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request: Request, pk: str | None = None) -> Response:
        resident = self.get_object()
        serializer = RevealSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        field = serializer.validated_data["field"]
        try:
            value = services.reveal(request.user, resident, field, request=request)  # type: ignore[arg-type]
        except PermissionDenied as exc:
            raise ApiPermissionDenied() from exc
        return Response({"field": field, "value": value})

    @property
    def required_action(self) -> str:
        if getattr(self, "action", None) == "reveal":
            return "resident.reveal"
        return super().required_action


__all__ = [
    "BuildingViewSet",
    "CompoundViewSet",
    "DwellingViewSet",
    "HouseholdViewSet",
    "OrganisationViewSet",
    "ResidentViewSet",
]
