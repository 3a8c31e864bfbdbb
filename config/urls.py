from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

admin.site.site_header = _("Licence system for key-managed measuring instruments")
admin.site.site_title = _("Licence system")
admin.site.index_title = _("Register and special verification")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("verification/", include("verification.urls")),
]
