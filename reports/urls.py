from django.urls import path

from reports import export_views, views

app_name = "reports"

urlpatterns = [
    path("campaigns/<int:campaign_pk>/", views.board, name="board"),
    path("campaigns/<int:campaign_pk>/returns/", views.status_list, name="status_list"),
    path("statistics/", views.statistics, name="statistics"),
    path(
        "campaigns/<int:campaign_pk>/attachment1.xlsx",
        export_views.attachment1_xlsx,
        name="attachment1_xlsx",
    ),
    path(
        "campaigns/<int:campaign_pk>/attachment2.xlsx",
        export_views.attachment2_xlsx,
        name="attachment2_xlsx",
    ),
    path(
        "campaigns/<int:campaign_pk>/returns.xlsx",
        export_views.status_list_xlsx,
        name="status_list_xlsx",
    ),
    path("statistics.xlsx", export_views.statistics_xlsx, name="statistics_xlsx"),
]
