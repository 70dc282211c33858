from jiedao.core.models.calendar import CalendarWarning, WorkdayOverride
from jiedao.core.models.deadlines import DueItemMixin, DueState, Reminder
from jiedao.core.models.org import ContactCommunity, Department, OrgUnit
from jiedao.core.models.scope import ScopedModel, ScopedQuerySet
from jiedao.core.models.users import Membership, Role, User

__all__ = [
    "CalendarWarning",
    "ContactCommunity",
    "Department",
    "DueItemMixin",
    "DueState",
    "Membership",
    "OrgUnit",
    "Reminder",
    "Role",
    "ScopedModel",
    "ScopedQuerySet",
    "User",
    "WorkdayOverride",
]
