from typing import Any

from django.conf import settings
from django.http import HttpRequest

from jiedao.core import navigation
from jiedao.core.permissions import roles_of


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the page frame needs: the module navigation the user may use and their role names."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_menu": [], "user_roles": [], "map_tile_url": settings.MAP_TILE_URL}
    from jiedao.core.models import Role

    labels = dict(Role.choices)
    items = navigation.items_for(user, request.path)
    return {
        "nav_items": items,
        "nav_menu": navigation.menu(items),
        "user_roles": [labels.get(r, r) for r in sorted(roles_of(user))],
        "map_tile_url": settings.MAP_TILE_URL,
    }
