from django.urls import path

from observers import invitation_views, views

app_name = "observers"

urlpatterns = [
    path("observe/", views.home, name="home"),
    path("observe/applications/<int:pk>/", views.application, name="application"),
    path("observe/evidence/<int:pk>/download/", views.evidence_download, name="evidence-download"),
    path("observe/join/<str:token>/", invitation_views.join, name="join"),
    # The regulator's side
    path("reviews/observers/", invitation_views.manage, name="manage"),
    path(
        "reviews/observer-invitations/<int:pk>/cancel/",
        invitation_views.invitation_cancel,
        name="invitation-cancel",
    ),
    path("reviews/applications/<int:pk>/observers/", views.grants, name="grants"),
    path("reviews/applications/<int:pk>/observers/revoke/", views.revoke, name="revoke"),
]
