from django.contrib import admin

from devices.admin import ReadOnlyAdminMixin
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "recipient", "email_to", "kind", "title", "read_at", "emailed_at"]
    list_filter = ["kind"]
    list_select_related = ["recipient"]
    search_fields = ["^application__reference", "recipient__email", "email_to", "title"]
    show_full_result_count = False
