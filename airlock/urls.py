from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from airlock import accounts, views
from airlock.forms import AdminSignInForm, ResetPasswordForm, SignInForm

admin.site.site_header = "Airlock administration"
admin.site.site_title = "Airlock admin"
# The admin's sign-in reads addresses exactly as the site's does (and is locked out with it).
admin.site.login_form = AdminSignInForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("healthz/ready/", views.healthz_ready, name="healthz-ready"),
    path("help/", views.help_page, name="help"),
    path("favicon.ico", views.favicon, name="favicon"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=ResetPasswordForm),
        name="password_reset",
    ),
    path("accounts/two-factor/", accounts.two_factor_verify, name="two-factor-verify"),
    path("accounts/two-factor/setup/", accounts.two_factor_setup, name="two-factor-setup"),
    path(
        "accounts/two-factor/enrol/<str:token>/",
        accounts.two_factor_enrol,
        name="two-factor-enrol",
    ),
    # Ahead of django.contrib.auth.urls: a new password also lifts a sign-in lockout.
    path(
        "accounts/reset/<uidb64>/<token>/",
        accounts.ResetPasswordConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("reviews/", include("reviews.urls")),
    path("reviews/", include("findings.urls")),
    path("notifications/", include("notifications.urls")),
    path("network/", include("reviews.network.urls")),
    path("", include("teams.urls")),
    path("", include("calls.urls")),
    path("", include("observers.urls")),
    path("audit/", include("ledger.urls")),
    path("", include("documents.urls")),
    path("", include("devices.urls")),
    path("api/", include("airlock.api_urls")),
]
