from django.urls import path

from documents import views

app_name = "documents"

urlpatterns = [
    path("documents/<int:pk>/", views.download, name="download"),
    path("verify/", views.verify, name="verify"),
    path("applications/<int:pk>/bundle/", views.bundle, name="bundle"),
    path("bundles/public-key/", views.bundle_public_key, name="bundle-public-key"),
]
