from django.urls import path

from calls import manage_views, selection_views, views

app_name = "calls"

urlpatterns = [
    path("calls/", views.call_list, name="list"),
    # Lead reviewers and administrators set up and change calls
    path("reviews/calls/new/", manage_views.call_create, name="create"),
    path("reviews/calls/<int:pk>/edit/", manage_views.call_edit, name="edit"),
    # The regulator's side: scoring, moderation, selection and its report
    path("reviews/calls/<int:pk>/selection/", selection_views.selection_page, name="selection"),
    path("reviews/calls/<int:pk>/select/", selection_views.select, name="select"),
    path("reviews/calls/<int:pk>/report/", selection_views.report, name="report"),
    path("reviews/calls/applications/<int:pk>/score/", selection_views.score, name="score"),
    path(
        "reviews/calls/applications/<int:pk>/moderate/",
        selection_views.moderate,
        name="moderate",
    ),
]
