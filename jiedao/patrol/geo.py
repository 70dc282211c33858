"""Coordinates: stored as WGS84; shown in GCJ-02 (the "Mars" offset Chinese map providers such as AMap and
Tencent use) when the configured tiles are in it. `settings.MAP_TILE_GCJ02` (True/False) says so; without it
the tile URL's host decides (autonavi.com, amap.com, gtimg.com/qq.com are GCJ-02)."""

from __future__ import annotations

import math

from django.conf import settings

_A = 6378245.0
_EE = 0.00669342162296594323
GCJ02_HOSTS = ("autonavi.com", "amap.com", "gtimg.com", "map.qq.com")


def out_of_china(lat: float, lng: float) -> bool:
    return not (73.66 < lng < 135.05 and 3.86 < lat < 53.55)


def _lat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _lng(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """(lat, lng) in WGS84 → GCJ-02 (the published transform; outside China unchanged)."""
    if out_of_china(lat, lng):
        return lat, lng
    d_lat = _lat(lng - 105.0, lat - 35.0)
    d_lng = _lng(lng - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return lat + d_lat, lng + d_lng


def tiles_use_gcj02() -> bool:
    explicit = getattr(settings, "MAP_TILE_GCJ02", None)
    if explicit is not None:
        return bool(explicit)
    url = (getattr(settings, "MAP_TILE_URL", "") or "").lower()
    return any(host in url for host in GCJ02_HOSTS)


def for_display(lat: float, lng: float, gcj02: bool | None = None) -> tuple[float, float]:
    """A stored WGS84 position as the map should draw it (rounded to about 10 cm)."""
    if gcj02 is None:
        gcj02 = tiles_use_gcj02()
    if gcj02:
        lat, lng = wgs84_to_gcj02(lat, lng)
    return round(lat, 6), round(lng, 6)


def shift_geometry(geometry: dict, gcj02: bool) -> dict:
    """A GeoJSON geometry ([lng, lat] positions) shifted for display when the tiles are GCJ-02."""
    if not gcj02 or not geometry:
        return geometry

    def walk(coords: object) -> object:
        if isinstance(coords, list) and coords and isinstance(coords[0], int | float):
            lat, lng = wgs84_to_gcj02(float(coords[1]), float(coords[0]))
            return [round(lng, 6), round(lat, 6)]
        if isinstance(coords, list):
            return [walk(c) for c in coords]
        return coords

    return {**geometry, "coordinates": walk(geometry.get("coordinates"))}
