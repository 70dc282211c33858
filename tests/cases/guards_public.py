"""Route guards of the cases module: public area (the residents' portal and Open311 need no account)."""

from __future__ import annotations

from tests.guard import Guard

GUARDS: dict[str, Guard] = {}
PUBLIC: dict[str, str] = {
    "portal:home": "the residents' portal start page",
    "portal:submit": "residents submit requests without an account (rate-limited per phone and address)",
    "portal:category_fields": "the extra fields of a public category (public catalogue data)",
    "portal:places": "the public place list, one level under the chosen unit (public organisation data)",
    "portal:submitted": "shows the new number only to the session that submitted it (404 otherwise)",
    "portal:track": "tracking by number + last four phone digits (throttled per address, no oracle)",
    "portal:case": "only for a session that proved number + last four digits; no personal data shown",
    "portal:rate": "only for a session that proved number + last four digits, on a closed case",
    "open311:discovery": "Open311 GeoReport v2 discovery is public by specification",
    "open311:services": "the public category list (Open311)",
    "open311:service_definition": "the extra fields of a public category (Open311)",
    "open311:requests": "GET lists non-confidential cases without personal data; POST needs an api_key",
    "open311:request": "one non-confidential public case without personal data (Open311)",
    "open311:token": "maps a token to its request id (Open311); non-confidential public cases only",
}
