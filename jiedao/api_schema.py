"""The OpenAPI schema class. It documents the error answers every endpoint can give, so that clients (and
schemathesis) know them: 400 bad filter values, 401 not signed in, 403 refused, 404 unknown or out-of-scope
object or page."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="A message for people, in the caller's language.")


class FieldErrorsSerializer(serializers.Serializer):
    """Per-field messages, e.g. {"kind": ["Select a valid choice."]}."""


ERRORS = {
    "400": OpenApiResponse(FieldErrorsSerializer, description="Invalid filter or request values, per field."),
    "401": OpenApiResponse(ErrorSerializer, description="Not signed in."),
    "403": OpenApiResponse(ErrorSerializer, description="The caller's role or scope does not allow this."),
    "404": OpenApiResponse(ErrorSerializer, description="No such object or page within the caller's scope."),
}


class JiedaoAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, response in ERRORS.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response.response, code)
                responses[code]["description"] = response.description
        return responses
