from django.urls import path

from verification import views

app_name = "verification"

urlpatterns = [
    path(
        "returns/<int:return_pk>/attachments/<int:pk>/",
        views.attachment_download,
        name="attachment_download",
    ),
]
