"""Province scoping: the one place that decides which rows a user may see.

Every province-owned model's manager is built from ProvinceScopedQuerySet and names, in
``province_lookup``, the path from the model to its Province. Screens, exports, imports and
reports call ``for_user``; none of them filters by province on its own.
"""

from django.db import models

ALL_PROVINCES_PERMISSION = "accounts.view_all_provinces"


def user_sees_all_provinces(user) -> bool:
    """National staff (superusers and holders of the national permission) see every province."""
    if not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "province_id", None):
        return False
    return user.is_superuser or user.has_perm(ALL_PROVINCES_PERMISSION)


def user_province_id(user):
    """The province a provincial user is bound to, or None for national staff and strangers."""
    return getattr(user, "province_id", None) if user.is_authenticated else None


class ProvinceScopedQuerySet(models.QuerySet):
    def for_user(self, user):
        """Rows of the user's province; all rows for national staff; nothing for anyone else."""
        province_id = user_province_id(user)
        if province_id:
            return self.filter(**{f"{self.model.province_lookup}_id": province_id})
        if user_sees_all_provinces(user):
            return self.all()
        return self.none()

    def in_province(self, province):
        return self.filter(**{self.model.province_lookup: province})
