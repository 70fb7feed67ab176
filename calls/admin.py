from django.contrib import admin
from django.urls import reverse

from calls.models import Call, CallEvent, SelectionCriterion


class SelectionCriterionInline(admin.TabularInline):
    model = SelectionCriterion
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnly(admin.ModelAdmin):
    """Calls are set up and changed on the site's call pages (calls.services.call_save), so
    each change is checked against what has happened in the call and audited; the admin only
    shows them, and the trail."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Call)
class CallAdmin(ReadOnly):
    list_display = ["title", "opens_at", "closes_at", "capacity", "cohort"]
    list_select_related = ["cohort"]
    search_fields = ["title"]
    inlines = [SelectionCriterionInline]

    def get_view_on_site_url(self, obj=None):
        return reverse("calls:edit", args=[obj.pk]) if obj else None


@admin.register(CallEvent)
class CallEventAdmin(ReadOnly):
    list_display = ["created_at", "call", "kind", "actor"]
    list_filter = ["kind"]
    list_select_related = ["call", "actor"]
