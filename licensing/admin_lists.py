"""What the register's list screens share, so that a page costs what it shows (issue 9).

A list page of the admin reads, besides its rows: how many rows there are (the paginator), the
choices of its filters, and the figures of its columns. Django's defaults count every matching
row, compute each filter's choices from the whole table and annotate every row with its
related counts before taking a page: seconds on a national register. Here:

- ``RegisterPaginator`` counts up to COUNT_CAP rows and says "more than COUNT_CAP" beyond;
  a list that is a cell of the register's counts (licensing/statistics.py: a province, a
  category, valid or any status — what the reports' numbers open) takes its total from
  RegisterCount instead, so that it shows the number the report showed. A search that matches
  too many rows to look them up (licensing/search.py) shows "more than" the rows up to this
  page and a link to the next.
- the filters read their choices from the reference tables (provinces, categories, the first
  and last date), never from the rows, and filter with EXISTS rather than joins;
- figures of the rows shown (a licence's products) are counted for those rows only, in one
  query (``RegisterChangeList.annotate_page``).

Scoping stays the admin's ``get_queryset`` (``for_user``); the counts read RegisterCount
through ``for_user`` as well.
"""

from datetime import date

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import Count, Exists, Max, Min, OuterRef, Sum
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from licensing.models import InstrumentCategory, LicensedProduct, RegisterCount
from licensing.scoping import user_province_id
from licensing.search import search

# Rows a list counts exactly; beyond, it says "more than COUNT_CAP" (unless the register's
# counts hold the total). Counting stops there, so the count costs at most that many rows.
# (As the public list's, reports/public_views.py.) On a later page the count goes on to
# PAGES_AHEAD pages past it, so that the pages after it can be reached.
COUNT_CAP = 1_000
PAGES_AHEAD = 10

# Query-string parameters that are not filters (django.contrib.admin.views.main).
NOT_FILTERS = {"all", "o", "p", "e", "q", "_popup", "_to_field", "_facets"}


class RegisterPaginator(Paginator):
    """A paginator whose count stops at COUNT_CAP; see the module's docstring.

    ``count_is_lower_bound``: the list holds more rows than ``count - 1`` and the pages
    show "more than count - 1".
    """

    def __init__(
        self,
        object_list,
        per_page,
        orphans=0,
        allow_empty_first_page=True,
        *,
        page_number=1,
        open_ended=False,
        register_total=None,
    ):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.page_number = page_number
        self.open_ended = open_ended
        self.register_total = register_total
        self.count_is_lower_bound = False

    @cached_property
    def count(self):
        if self.open_ended:
            # The rows up to this page and one more: whether a next page exists.
            start = max(self.page_number - 1, 0) * self.per_page
            ids = list(
                self.object_list.values_list("pk", flat=True)[start : start + self.per_page + 1]
            )
            if len(ids) > self.per_page:
                self.count_is_lower_bound = True
            return start + len(ids)
        cap = max(COUNT_CAP, (self.page_number + PAGES_AHEAD) * self.per_page)
        counted = self.object_list.order_by().values("pk")[: cap + 1].count()
        if counted <= cap:
            return counted
        total = self.register_total() if self.register_total else None
        if total is not None and total > cap:
            return total
        self.count_is_lower_bound = True
        return counted

    def page(self, number):
        """The page's rows, found by their ids first: the offset is walked on the list's
        order index alone, and the rows' columns and joins are read for this page only."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = self.object_list.values("pk")[bottom:top]
        return self._get_page(self.object_list.filter(pk__in=ids), number, self)

    @property
    def shown_count(self):
        """What the page says: the count, or the number the list has more rows than."""
        return self.count - 1 if self.count_is_lower_bound else self.count


class RegisterChangeList(ChangeList):
    def get_results(self, request):
        request._register_changelist = self
        super().get_results(request)
        if self.paginator.count_is_lower_bound:
            # "Show all" is for lists known to be short; this one may be anything but.
            self.can_show_all = False
            if self.show_all:
                self.result_list = self.paginator.page(self.page_num).object_list
        self.result_list = self.model_admin.annotate_page(request, list(self.result_list))


class RegisterListMixin:
    """For the register's ModelAdmins: the paginator, search and page figures above.

    ``register_cell(params)`` (optional) maps a list's filters to a cell of RegisterCount:
    (measure, province id or None, category filter dict or None), or None.
    """

    paginator = RegisterPaginator
    show_full_result_count = False
    # Facet counts would count every filter choice over the whole list, on every page.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50

    def get_changelist(self, request, **kwargs):
        return RegisterChangeList

    def annotate_page(self, request, rows: list) -> list:
        """The rows of the page shown, with any figures their columns need."""
        return rows

    def register_cell(self, params: dict):
        return None

    def get_search_results(self, request, queryset, search_term):
        search_fields = self.get_search_fields(request)
        if not search_fields or not search_term.strip():
            return queryset, False
        result = search(queryset, search_fields, search_term)
        request._register_search_open_ended = (
            getattr(request, "_register_search_open_ended", False) or result.many
        )
        return result.queryset, False

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        changelist = getattr(request, "_register_changelist", None)
        page_number = changelist.page_num if changelist is not None else 1
        return self.paginator(
            queryset,
            per_page,
            orphans,
            allow_empty_first_page,
            page_number=page_number,
            open_ended=getattr(request, "_register_search_open_ended", False),
            register_total=lambda: self._register_total(request, changelist),
        )

    def _register_total(self, request, changelist):
        if changelist is None or changelist.query:
            return None
        params = {}
        for name, values in changelist.get_filters_params().items():
            if name in NOT_FILTERS:
                continue
            if len(values) != 1:
                return None
            params[name] = values[0]
        cell = self.register_cell(params)
        if cell is None:
            return None
        measure, province_id, category = cell
        counts = RegisterCount.objects.for_user(request.user)
        # A provincial user's list leaves the province filter out (ProvinceFilter): so here.
        if province_id is not None and user_province_id(request.user) is None:
            counts = counts.filter(province_id=province_id)
        if category is None:
            counts = counts.filter(category__isnull=True)
        else:
            counts = counts.filter(**category)
        return counts.aggregate(total=Sum(measure))["total"] or 0


def count_for_rows(rows: list, related, field: str, attribute: str) -> list:
    """``rows`` with ``attribute`` set to how many ``related`` rows point at each through
    ``field``: one grouped query over the rows of the page, not an annotation of the list."""
    totals = dict(
        related.filter(**{f"{field}__in": rows})
        .order_by()
        .values_list(field)
        .annotate(total=Count("pk"))
    )
    for row in rows:
        setattr(row, attribute, totals.get(row.pk, 0))
    return rows


def integer_param(value):
    """A filter's id parameter as an int; IncorrectLookupParameters (Django's "?e=1") if not."""
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise IncorrectLookupParameters(value) from None


def pop_integer(params: dict, name: str):
    """Take an id parameter out of ``params``: (present, value), value None when not a number."""
    if name not in params:
        return False, None
    value = params.pop(name)
    return True, int(value) if value.isdigit() else None


class ProvinceFilter(admin.RelatedFieldListFilter):
    """By province: the 32 units from their own table, not the distinct provinces of the rows
    (RelatedOnlyFieldListFilter's query over the whole table).

    National staff only: all of a provincial user's rows are of its own province.
    """

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.national = user_province_id(request.user) is None

    def has_output(self):
        return self.national and super().has_output()


class ProductCategoryFilter(admin.SimpleListFilter):
    """Licences listing a product of a category: an EXISTS, so that a licence is one row.

    The parameter is the one the reports' links use (reports/views.py).
    """

    title = _("instrument category")
    parameter_name = "products__category__id__exact"

    def lookups(self, request, model_admin):
        return [(str(category.pk), category.name) for category in InstrumentCategory.objects.all()]

    def queryset(self, request, queryset):
        category_id = integer_param(self.value())
        if category_id is None:
            return queryset
        return queryset.filter(
            Exists(LicensedProduct.objects.filter(licence=OuterRef("pk"), category_id=category_id))
        )


def year_filter(field_name: str, title):
    """A filter by year of a date field, in place of the admin's date hierarchy.

    The hierarchy lists the years, months and days that the filtered rows hold: a scan of all
    of them on every page. The years here run from the first to the last date of the user's
    rows (two ends of an index), whether or not the current filters leave any row in each.
    The parameter is the hierarchy's (``<field>__year``), so its links keep working.
    """

    class YearFilter(admin.SimpleListFilter):
        parameter_name = f"{field_name}__year"

        def lookups(self, request, model_admin):
            ends = (
                model_admin.get_queryset(request)
                .order_by()
                .aggregate(first=Min(field_name), last=Max(field_name))
            )
            if ends["first"] is None:
                return []
            return [
                (str(year), str(year))
                for year in range(ends["last"].year, ends["first"].year - 1, -1)
            ]

        def queryset(self, request, queryset):
            year = integer_param(self.value())
            if year is None:
                return queryset
            if not 1 <= year <= 9998:
                raise IncorrectLookupParameters(year)
            return queryset.filter(
                **{
                    f"{field_name}__gte": date(year, 1, 1),
                    f"{field_name}__lt": date(year + 1, 1, 1),
                }
            )

    YearFilter.title = title
    YearFilter.__name__ = f"YearFilter_{field_name}"
    return YearFilter
