"""The register's size per province and category, kept in RegisterCount for the reports.

Counting a national register (a million products) on every page would cost seconds; recounting
the one province a write touched costs a few milliseconds to a few hundred. Every write path of
the register calls register_counts_refresh in its own transaction: the licence-list import, the
register's admin screens, seed_demo; `manage.py refresh_register_counts` recounts everything.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from licensing.models import (
    Licence,
    LicenceStatus,
    LicensedProduct,
    Province,
    RegisterCount,
)

VALID = Q(status=LicenceStatus.VALID)


@transaction.atomic
def register_counts_refresh(
    *, province_ids: Iterable[int] | None = None, at: datetime | None = None
) -> None:
    """Recount the register of these provinces (all when None) and stamp it changed ``at``.

    Per category, from the products: licensed products and the valid licences and their
    manufacturers that hold one in the category, and licences of any status. Per province, from
    the licences themselves, so that a licence without products still counts: the per-category
    figures do not add up to these (a licence may list products of several categories).
    """
    at = at or timezone.now()
    if province_ids is None:
        province_ids = list(Province.objects.values_list("pk", flat=True))
    province_ids = sorted(set(province_ids) - {None})
    if not province_ids:
        return
    valid = Q(licence__status=LicenceStatus.VALID)
    per_category = (
        LicensedProduct.objects.filter(licence__province_id__in=province_ids)
        .order_by()
        .values_list("licence__province_id", "category_id")
        .annotate(
            manufacturers=Count("licence__manufacturer_id", distinct=True, filter=valid),
            valid_licences=Count("licence_id", distinct=True, filter=valid),
            products=Count("pk", filter=valid),
            licences=Count("licence_id", distinct=True),
        )
    )
    per_province = (
        Licence.objects.filter(province_id__in=province_ids)
        .order_by()
        .values_list("province_id")
        .annotate(
            manufacturers=Count("manufacturer_id", distinct=True, filter=VALID),
            valid_licences=Count("pk", filter=VALID),
            licences=Count("pk"),
        )
    )
    rows = []
    products = dict.fromkeys(province_ids, 0)
    for province_id, category_id, manufacturers, valid_licences, count, licences in per_category:
        products[province_id] += count
        rows.append(
            RegisterCount(
                province_id=province_id,
                category_id=category_id,
                manufacturers=manufacturers,
                valid_licences=valid_licences,
                products=count,
                licences=licences,
                changed_at=at,
            )
        )
    totals = dict.fromkeys(province_ids, (0, 0, 0))
    totals.update({row[0]: row[1:] for row in per_province})
    for province_id, (manufacturers, valid_licences, licences) in totals.items():
        rows.append(
            RegisterCount(
                province_id=province_id,
                category=None,
                manufacturers=manufacturers,
                valid_licences=valid_licences,
                products=products[province_id],
                licences=licences,
                changed_at=at,
            )
        )
    RegisterCount.objects.filter(province_id__in=province_ids).delete()
    RegisterCount.objects.bulk_create(rows)
