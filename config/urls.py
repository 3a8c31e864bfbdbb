from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from config.views import scoped_shortcut

admin.site.site_header = _("Licence system for key-managed measuring instruments")
admin.site.site_title = _("Licence system")
admin.site.index_title = _("Register and special verification")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # Before admin.site.urls, so it replaces the admin's unscoped "view on site" redirect.
    path(
        "admin/r/<int:content_type_id>/<path:object_id>/",
        admin.site.admin_view(scoped_shortcut),
        name="view_on_site",
    ),
    path("admin/", admin.site.urls),
    path("verification/", include("verification.urls")),
    path("reports/", include("reports.urls")),
    path("public/", include("reports.public_urls")),
]
