"""Which org unit a point lies in: ray casting over the units' GeoJSON boundaries (Polygon, MultiPolygon, or a
Feature/FeatureCollection of them), holes respected. Plenty for the few hundred small polygons of a
sub-district; no GIS extension needed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from jiedao.core.models import OrgUnit

Ring = Sequence[Sequence[float]]


def in_ring(lon: float, lat: float, ring: Ring) -> bool:
    inside = False
    count = len(ring)
    if count < 3:
        return False
    j = count - 1
    for i in range(count):
        xi, yi = float(ring[i][0]), float(ring[i][1])
        xj, yj = float(ring[j][0]), float(ring[j][1])
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _polygons(geometry: Any) -> Iterable[Sequence[Ring]]:
    if not isinstance(geometry, dict):
        return
    kind = geometry.get("type")
    if kind == "Polygon":
        yield geometry.get("coordinates") or []
    elif kind == "MultiPolygon":
        yield from geometry.get("coordinates") or []
    elif kind == "Feature":
        yield from _polygons(geometry.get("geometry"))
    elif kind == "FeatureCollection":
        for feature in geometry.get("features") or []:
            yield from _polygons(feature)
    elif kind == "GeometryCollection":
        for inner in geometry.get("geometries") or []:
            yield from _polygons(inner)


def contains(boundary: Any, lon: float, lat: float) -> bool:
    """Is the point inside the boundary (inside an outer ring and outside that polygon's holes)?"""
    try:
        for rings in _polygons(boundary):
            if rings and in_ring(lon, lat, rings[0]) and not any(in_ring(lon, lat, h) for h in rings[1:]):
                return True
    except (TypeError, ValueError, IndexError):
        return False
    return False


def unit_at(lon: float, lat: float, within: OrgUnit) -> OrgUnit | None:
    """The active grid under `within` whose boundary contains the point, else such a community/village."""
    candidates = OrgUnit.objects.filter(
        path__startswith=within.path, is_active=True, boundary__isnull=False
    ).order_by("-depth", "path")
    for kinds in ((OrgUnit.Kind.GRID,), (OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE)):
        for unit in candidates.filter(kind__in=kinds):
            if contains(unit.boundary, lon, lat):
                return unit
    return None
