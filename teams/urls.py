from django.urls import path

from teams import signup_views, views

app_name = "teams"

urlpatterns = [
    path("team/", views.team, name="team"),
    path("team/invite/", views.invite, name="invite"),
    path(
        "team/invitations/<int:pk>/cancel/",
        views.invitation_cancel,
        name="invitation-cancel",
    ),
    path("team/members/<int:pk>/role/", views.member_role, name="member-role"),
    path("team/members/<int:pk>/remove/", views.member_remove, name="member-remove"),
    path("team/api-keys/", views.api_keys, name="api-keys"),
    path("team/api-keys/<int:pk>/revoke/", views.api_key_revoke_view, name="api-key-revoke"),
    path("join/<str:token>/", views.join, name="join"),
    # Registering, and the regulator's approval of a registered organisation
    path("sign-up/", signup_views.signup, name="signup"),
    path("sign-up/check-your-email/", signup_views.signup_sent, name="signup-sent"),
    path("sign-up/confirm/<str:token>/", signup_views.signup_confirm, name="signup-confirm"),
    path("sign-up/ask-to-join/", signup_views.ask_to_join, name="ask-to-join"),
    path("reviews/organisations/", signup_views.organisations, name="organisations"),
    path(
        "reviews/organisations/<int:pk>/approve/",
        signup_views.organisation_approve,
        name="organisation-approve",
    ),
]
