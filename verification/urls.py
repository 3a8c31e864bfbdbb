from django.urls import path

from verification import views

app_name = "verification"

urlpatterns = [
    path("", views.index, name="index"),
    path("campaigns/<int:campaign_pk>/start/", views.campaign_start, name="campaign_start"),
    path("returns/<int:pk>/", views.return_detail, name="return_detail"),
    path("returns/<int:pk>/print/", views.return_print, name="return_print"),
    path("returns/<int:pk>/findings/", views.findings, name="return_findings"),
    path("returns/<int:pk>/administrator/", views.administrator_add, name="administrator_add"),
    path("returns/<int:pk>/attachments/", views.attachment_upload, name="attachment_upload"),
    path(
        "returns/<int:pk>/attachments/<int:attachment_pk>/remove/",
        views.attachment_remove,
        name="attachment_remove",
    ),
    path("returns/<int:pk>/review/", views.return_review, name="return_review"),
    path("returns/<int:pk>/review/send-back/", views.review_send_back, name="review_send_back"),
    path("returns/<int:pk>/review/accept/", views.review_accept, name="review_accept"),
    path("returns/<int:pk>/review/reopen/", views.review_reopen, name="review_reopen"),
    path("campaigns/<int:campaign_pk>/remind/", views.campaign_remind, name="campaign_remind"),
    path(
        "returns/<int:return_pk>/attachments/<int:pk>/",
        views.attachment_download,
        name="attachment_download",
    ),
]
