"""The public list of licensed manufacturers (公布获证名单, DESIGN.md §2): no login, read-only.

What is public is what a licence certificate and the provinces' announcements print: the
licence (number, issuing province, authority and level, issue and expiry dates, status), its
manufacturer's name and unified social credit code (public registration data) and its products
(category, name, model, accuracy class, measuring range, type-approval number). The address,
printed on the certificate as well, is shown except for a 个体工商户 (credit code 92…), whose
business address is often the owner's home. Never shown, and never read from the database here
(the queries select public columns only, and templates get plain rows, not model objects): the
legal representative, the contact person and phone, import batches, the processing-time fields
(accepted_on, excluded_days, extension_approved), the history, anything of the returns.

A licence is published once its decision date has come: one whose ``issued_on`` is still in the
future (Asia/Shanghai) is neither listed nor shown on its own page (404, as for a licence that
does not exist).

Every page costs the same however big the register is: a list page reads the licences off an
index on their number from where the page before ended (keyset pagination, ?after= and ?before=
a licence number; no OFFSET) and counts matches only up to COUNT_CAP; a name search sorts at
most NAME_SEARCH_CAP matches itself (licence_page says why). Pages are cached for
PUBLIC_CACHE_SECONDS by their full URL, and each client address may make PUBLIC_RATE_LIMIT
requests (429 beyond), both in the shared cache (config/settings.py).
"""

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date
from functools import wraps

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_page
from django.views.decorators.http import require_safe
from django_ratelimit.core import get_usage

from licensing.models import (
    InstrumentCategory,
    IssuingLevel,
    Licence,
    LicenceStatus,
    LicensedProduct,
    Province,
)
from licensing.validators import (
    CREDIT_CODE_CHARSET,
    LICENCE_NUMBER_RE,
    normalize_code,
    normalize_licence_number,
    normalize_text,
)

PAGE_SIZE = 50
COUNT_CAP = 1000  # beyond it the page says "more than 1000", and the count stays cheap
QUERY_MAX_LENGTH = 100
# A name search sorts up to this many matching licences itself (licence_page).
NAME_SEARCH_CAP = 20_000
ALL_STATUSES = "all"
FILTERS = ("q", "province", "category", "status")
# 统一社会信用代码 GB 32100: registration authority 9 (market regulation), type 2 (个体工商户).
INDIVIDUAL_BUSINESS_PREFIX = "92"

# The only columns these pages read.
LICENCE_COLUMNS = (
    "pk",
    "number",
    "issued_on",
    "expires_on",
    "status",
    "issuing_authority",
    "issuing_level",
    "manufacturer__name",
    "manufacturer__credit_code",
    "province__name",
)
PRODUCT_COLUMNS = (
    "category__name",
    "product_name",
    "model_spec",
    "accuracy_class",
    "measuring_range",
    "type_approval_number",
)


ISSUING_LEVELS = dict(IssuingLevel.choices)
STATUSES = dict(LicenceStatus.choices)


def published_licences():
    """The register as the public sees it: licences whose decision date has come."""
    return Licence.objects.filter(issued_on__lte=timezone.localdate())


@dataclass(frozen=True)
class PublicLicence:
    """A licence as the public pages show it: public fields only, whatever a template asks."""

    pk: int
    number: str
    manufacturer_name: str
    credit_code: str
    province: str
    issuing_authority: str
    issuing_level: str
    issued_on: date
    expires_on: date
    status: str
    status_label: str
    address: str = ""
    categories: tuple[str, ...] = ()

    @classmethod
    def from_values(cls, row: dict, *, address: str = "", categories=()) -> "PublicLicence":
        credit_code = row["manufacturer__credit_code"]
        return cls(
            pk=row["pk"],
            number=row["number"],
            manufacturer_name=row["manufacturer__name"],
            credit_code=credit_code,
            province=row["province__name"],
            issuing_authority=row["issuing_authority"],
            issuing_level=ISSUING_LEVELS.get(row["issuing_level"], row["issuing_level"]),
            issued_on=row["issued_on"],
            expires_on=row["expires_on"],
            status=row["status"],
            status_label=STATUSES.get(row["status"], row["status"]),
            address="" if credit_code.startswith(INDIVIDUAL_BUSINESS_PREFIX) else address,
            categories=tuple(categories),
        )


# --- The search form ------------------------------------------------------------------------


def validate_page_key(value: str) -> None:
    """?after= and ?before= name a licence number, as the list's own links write them."""
    if not LICENCE_NUMBER_RE.fullmatch(value):
        raise ValidationError(
            _("The page to show is given by a licence number, and this is not one."),
            code="page_key",
        )


class PublicListForm(forms.Form):
    """The list's query string: every parameter checked, each error in Chinese."""

    q = forms.CharField(
        label=_("Manufacturer name, credit code or licence number"),
        required=False,
        max_length=QUERY_MAX_LENGTH,
        error_messages={
            "max_length": _(
                "Search for at most %(limit_value)d characters (this has %(show_value)d)."
            ),
        },
    )
    province = forms.ChoiceField(
        label=_("Province"),
        required=False,
        error_messages={"invalid_choice": _("There is no province with code “%(value)s”.")},
    )
    category = forms.ChoiceField(
        label=_("instrument category"),
        required=False,
        error_messages={"invalid_choice": _("There is no instrument category “%(value)s”.")},
    )
    status = forms.ChoiceField(
        label=_("status"),
        required=False,
        choices=[*LicenceStatus.choices, (ALL_STATUSES, _("All statuses"))],
        error_messages={"invalid_choice": _("“%(value)s” is not a licence status.")},
    )
    after = forms.CharField(label=_("Page"), required=False, validators=[validate_page_key])
    before = forms.CharField(label=_("Page"), required=False, validators=[validate_page_key])

    def __init__(self, data, *, provinces, categories):
        super().__init__(data)
        self.fields["province"].choices = [("", _("All provinces"))] + [
            (province.code, province.name) for province in provinces
        ]
        self.fields["category"].choices = [("", _("All categories"))] + [
            (category.code, category.name) for category in categories
        ]

    def clean_status(self):
        return self.cleaned_data["status"] or LicenceStatus.VALID

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("after") and cleaned.get("before"):
            raise ValidationError(
                _("A page starts after a licence number or ends before one, not both."),
                code="two_page_keys",
            )
        return cleaned


def search_key(q: str) -> tuple[str, str]:
    """What the one search box means: ("credit_code" | "number" | "name", the normalised value).

    Told apart by shape, so that each is one indexed lookup: an OR of the three across the
    manufacturer and licence tables would defeat every index.
    """
    code = normalize_code(q)
    if len(code) == 18 and set(code) <= set(CREDIT_CODE_CHARSET):
        return "credit_code", code
    number = normalize_licence_number(q)
    if LICENCE_NUMBER_RE.fullmatch(number):
        return "number", number
    return "name", normalize_text(q)


def name_lookup(text: str) -> str:
    # One or two characters with no case (Chinese, digits): no trigram index serves them, and
    # a plain LIKE scans the names twice as fast as icontains' UPPER(name).
    return "contains" if len(text) < 3 and text.upper() == text.lower() else "icontains"


# --- Reading the register ------------------------------------------------------------------


@dataclass(frozen=True)
class LicencePage:
    rows: list[PublicLicence]
    count: int  # capped at COUNT_CAP + 1
    has_previous: bool
    has_next: bool

    @property
    def count_capped(self) -> bool:
        return self.count > COUNT_CAP


def licence_page(
    *, filters: dict, provinces, categories, after: str = "", before: str = ""
) -> LicencePage:
    """One page of the published list, ordered by licence number: three or four queries.

    ``filters`` holds the form's cleaned FILTERS; ``provinces`` and ``categories`` the reference
    rows already read for the form (the filters compare ids, and the page names the categories
    of each licence from them).

    A page is read off the licence-number index from where the last one ended, except for a
    name search. Asked for a page of those in number order, PostgreSQL assumes the matches are
    spread evenly over the numbers and walks the index: a second and more when they all sit in
    one province late in that order (济南, 大庆). So the numbers of the matching licences are
    read first, in no order (the trigram index, or a scan of the names for one or two
    characters, then the manufacturer index), and while there are at most NAME_SEARCH_CAP of
    them, sorted and paged here. A more common term (有限公司) is in every province, and met at
    once in number order.
    """
    licences = published_licences()
    if filters["province"]:
        province = next(item for item in provinces if item.code == filters["province"])
        licences = licences.filter(province_id=province.pk)
    if filters["category"]:
        category = next(item for item in categories if item.code == filters["category"])
        licences = licences.filter(
            Exists(
                LicensedProduct.objects.filter(licence_id=OuterRef("pk"), category_id=category.pk)
            )
        )
    if filters["status"] != ALL_STATUSES:
        licences = licences.filter(status=filters["status"])
    if filters["q"]:
        key, value = search_key(filters["q"])
        if key == "name":
            licences = licences.filter(**{f"manufacturer__name__{name_lookup(value)}": value})
            numbers = list(
                licences.order_by().values_list("number", flat=True)[: NAME_SEARCH_CAP + 1]
            )
            if len(numbers) <= NAME_SEARCH_CAP:
                return _with_categories(*_sorted_here(numbers, after, before), categories)
        elif key == "credit_code":
            licences = licences.filter(manufacturer__credit_code=value)
        else:
            licences = licences.filter(number=value)
    return _with_categories(*_read_off_the_index(licences, after, before), categories)


def _read_off_the_index(licences, after: str, before: str):
    count = licences.order_by().values("pk")[: COUNT_CAP + 1].count()
    if before:
        chunk = list(
            licences.filter(number__lt=before)
            .order_by("-number")
            .values(*LICENCE_COLUMNS)[: PAGE_SIZE + 1]
        )
        return chunk[:PAGE_SIZE][::-1], count, len(chunk) > PAGE_SIZE, True
    if after:
        licences = licences.filter(number__gt=after)
    chunk = list(licences.order_by("number").values(*LICENCE_COLUMNS)[: PAGE_SIZE + 1])
    return chunk[:PAGE_SIZE], count, bool(after), len(chunk) > PAGE_SIZE


def _sorted_here(numbers: list[str], after: str, before: str):
    numbers.sort()
    if before:
        end = bisect_left(numbers, before)
        start = max(0, end - PAGE_SIZE)
    else:
        start = bisect_right(numbers, after) if after else 0
        end = start + PAGE_SIZE
    values = sorted(
        Licence.objects.filter(number__in=numbers[start:end]).values(*LICENCE_COLUMNS),
        key=lambda row: row["number"],
    )
    return values, min(len(numbers), COUNT_CAP + 1), start > 0, end < len(numbers)


def _with_categories(values, count, has_previous, has_next, categories) -> LicencePage:
    """The page's rows, each with the names of its products' categories (one query)."""
    names = {category.pk: category.name for category in categories}
    order = {category.pk: index for index, category in enumerate(categories)}
    shown = {}
    if values:
        for licence_id, category_id in (
            LicensedProduct.objects.filter(licence_id__in=[row["pk"] for row in values])
            .order_by()
            .values_list("licence_id", "category_id")
            .distinct()
        ):
            shown.setdefault(licence_id, []).append(category_id)
    rows = [
        PublicLicence.from_values(
            row,
            categories=[names[pk] for pk in sorted(shown.get(row["pk"], []), key=order.get)],
        )
        for row in values
    ]
    return LicencePage(rows=rows, count=count, has_previous=has_previous, has_next=has_next)


# --- Rate limit -----------------------------------------------------------------------------


def _public_rate(group, request):
    return settings.PUBLIC_RATE_LIMIT  # read per request, so that a test can lower it


def rate_limited(view):
    """PUBLIC_RATE_LIMIT requests per client address over all public pages; beyond, 429."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        usage = get_usage(request, group="public", key="ip", rate=_public_rate, increment=True)
        if usage is not None and usage["should_limit"]:
            retry_after = max(usage["time_left"], 1)
            response = render(
                request, "public/too_many_requests.html", {"retry_after": retry_after}, status=429
            )
            response["Retry-After"] = str(retry_after)
            patch_cache_control(response, no_store=True)
            return response
        return view(request, *args, **kwargs)

    return wrapped


def public_page(view):
    """GET and HEAD only (405 for anything else), rate-limited, then cached by full URL.

    The limit comes before the cache, so that cached pages count too.
    """
    return require_safe(rate_limited(cache_page(settings.PUBLIC_CACHE_SECONDS)(view)))


# --- Views ----------------------------------------------------------------------------------


@public_page
def licence_list(request):
    """获证单位名单: search, filters, a page of licences ordered by number."""
    provinces = list(Province.objects.only("code", "name"))
    categories = list(InstrumentCategory.objects.only("code", "name"))
    form = PublicListForm(request.GET, provinces=provinces, categories=categories)
    context = {"form": form, "status_choices": form.fields["status"].choices}
    if not form.is_valid():
        # The form shows what was asked, less the faulty values, beside the messages.
        values = {name: "" if name in form.errors else form.data.get(name, "") for name in FILTERS}
        values["status"] = values["status"] or LicenceStatus.VALID
        context["values"] = values
        return render(request, "public/licence_list.html", context, status=400)
    filters = {name: form.cleaned_data[name] for name in FILTERS}
    after, before = form.cleaned_data["after"], form.cleaned_data["before"]
    page = licence_page(
        filters=filters,
        provinces=provinces,
        categories=categories,
        after=after,
        before=before,
    )

    def url(**position):
        params = {name: value for name, value in filters.items() if value}
        if params["status"] == LicenceStatus.VALID:
            del params["status"]  # the default: the plain address, one cache entry
        query = urlencode({**params, **position})
        return f"{request.path}?{query}" if query else request.path

    previous_url = next_url = ""
    if page.has_previous:
        previous_url = url(before=page.rows[0].number if page.rows else after)
    if page.has_next and page.rows:
        next_url = url(after=page.rows[-1].number)
    context.update(
        values=filters,
        page=page,
        count_cap=COUNT_CAP,
        filtered=any(filters[name] for name in ("q", "province", "category"))
        or filters["status"] != LicenceStatus.VALID,
        first_url=url(),
        previous_url=previous_url,
        next_url=next_url,
        not_first=bool(after or before),
    )
    return render(request, "public/licence_list.html", context)


@public_page
def licence_detail(request, pk: int):
    """One licence: its status, validity, issuing authority and products."""
    row = (
        published_licences().filter(pk=pk).values(*LICENCE_COLUMNS, "manufacturer__address").first()
    )
    if row is None:
        return render(request, "public/not_found.html", status=404)
    licence = PublicLicence.from_values(row, address=row["manufacturer__address"])
    products = list(
        LicensedProduct.objects.filter(licence_id=pk)
        .order_by("category__sort_order", "product_name", "model_spec")
        .values_list(*PRODUCT_COLUMNS, named=True)
    )
    return render(request, "public/licence_detail.html", {"licence": licence, "products": products})
