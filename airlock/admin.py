from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from airlock import two_factor
from airlock.choice_fields import IdsChoiceField
from airlock.models import SecurityEvent, User


class AirlockUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        # An id past 64 bits posted to either is a wrong choice, not a 500 on SQLite.
        field_classes = {"groups": IdsChoiceField, "user_permissions": IdsChoiceField}


class AirlockUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = AirlockUserChangeForm
    add_form = AirlockUserCreationForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "groups"]
    search_fields = ["email", "full_name"]
    actions = ["reset_two_factor"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal details", {"fields": ("full_name",)}),
        (
            "Role and permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )

    @admin.action(description="Reset two-factor sign-in (emails each a new set-up link)")
    def reset_two_factor(self, request, queryset):
        """For someone who lost their phone: through the same service as everywhere, which
        removes their authenticators, emails a one-time set-up link and audits it."""
        people = list(queryset)
        for person in people:
            two_factor.two_factor_reset(user=person, actor=request.user)
        self.message_user(
            request,
            f"Two-factor sign-in reset for {len(people)} "
            f"{'person' if len(people) == 1 else 'people'}; each has been emailed a set-up "
            "link. The reset is recorded under Security events.",
            messages.SUCCESS,
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("reset_two_factor", None)
        return actions


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    """Read-only: the trail of who changed whose sign-in security."""

    list_display = ["created_at", "user", "kind", "actor", "detail"]
    list_filter = ["kind"]
    list_select_related = ["user", "actor"]
    search_fields = ["user__email", "actor__email"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
