from django.contrib import admin

from ledger.models import ChainLink


@admin.register(ChainLink)
class ChainLinkAdmin(admin.ModelAdmin):
    """Read-only: the chain is written by the services and checked by verify_audit."""

    list_display = ["seq", "source", "object_id", "recorded_at", "hash"]
    list_filter = ["source"]
    search_fields = ["=seq", "hash", "content_hash"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
