"""GET /api/v1/search/?q=…: the search box for API clients (the same scope and look-ups as the page)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jiedao.search.query import MAX_QUERY_LENGTH, reach, search
from jiedao.search.registry import kinds

MAX_LIMIT = 50


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=MAX_QUERY_LENGTH,
        allow_blank=True,
        trim_whitespace=True,
        help_text="Words (Chinese, pinyin or initials: zs finds 张三), an address, a case number, or a full "
        "identity number or phone number (matched exactly). Every word must match; the last as a prefix.",
    )
    kind = serializers.MultipleChoiceField(
        choices=[],
        required=False,
        help_text="Only these kinds (repeat the parameter for several).",
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=20, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["kind"]
        assert isinstance(field, serializers.MultipleChoiceField)
        field.choices = kinds()


class SearchHitSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="resident, compound, building, dwelling, organisation or case.")
    kind_label = serializers.CharField(source="label", help_text="The kind's name in the caller's language.")
    object_id = serializers.IntegerField()
    title = serializers.CharField()
    subtitle = serializers.CharField(help_text="Masked values only (identity number, address …).")
    url = serializers.CharField(help_text="The record's page ('' when it has none).")
    exact = serializers.CharField(
        help_text="'id_number' or 'phone' for an exact match through the blind index, else ''."
    )


class SearchResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    results = SearchHitSerializer(many=True)


class SearchAPIView(APIView):
    """Residents, places, organisations and cases the caller may see that match the query: exact identity
    number or phone matches first, then word matches. Scoped like every list: only the kinds the caller may
    view, only within the caller's org units."""

    @extend_schema(
        parameters=[SearchQuerySerializer],
        responses={200: SearchResultSerializer},
        summary="Search residents, places, organisations and cases.",
    )
    def get(self, request: Request) -> Response:
        if not reach(request.user):
            return Response({"detail": _("您没有可搜索的内容。")}, status=status.HTTP_403_FORBIDDEN)
        form = SearchQuerySerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        wanted = form.validated_data.get("kind") or None
        q = form.validated_data["q"]
        hits = search(request.user, q, limit=form.validated_data.get("limit", 20), kinds=wanted)
        data = {"query": q, "results": [h.__dict__ for h in hits]}
        return Response(SearchResultSerializer(data).data)
