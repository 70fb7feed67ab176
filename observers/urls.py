from django.urls import path

from observers import views

app_name = "observers"

urlpatterns = [
    path("observe/", views.home, name="home"),
    path("observe/applications/<int:pk>/", views.application, name="application"),
    path("observe/evidence/<int:pk>/download/", views.evidence_download, name="evidence-download"),
    # The regulator's side
    path("reviews/applications/<int:pk>/observers/", views.grants, name="grants"),
    path("reviews/applications/<int:pk>/observers/revoke/", views.revoke, name="revoke"),
]
