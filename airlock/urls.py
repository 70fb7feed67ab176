from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from airlock import views

admin.site.site_header = "Airlock administration"
admin.site.site_title = "Airlock admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
