from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("campaigns/<int:campaign_pk>/", views.board, name="board"),
    path("campaigns/<int:campaign_pk>/returns/", views.status_list, name="status_list"),
    path("statistics/", views.statistics, name="statistics"),
]
