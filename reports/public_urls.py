"""The public list of licensed manufacturers, under /public/ (no login)."""

from django.urls import path

from reports.public_views import licence_detail, licence_list

app_name = "public"

urlpatterns = [
    path("", licence_list, name="licence_list"),
    path("licences/<int:pk>/", licence_detail, name="licence_detail"),
]
