from django.contrib import admin

from devices.admin import ReadOnlyAdminMixin
from postclearance.models import MonitoringPlan, MonitoringThreshold


class MonitoringThresholdInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = MonitoringThreshold
    extra = 0


@admin.register(MonitoringPlan)
class MonitoringPlanAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read only: plans are set up and ended through postclearance.services, audited."""

    list_display = ["application", "status", "starts_on", "ends_on", "cadence_days", "set_up_by"]
    list_filter = ["status"]
    list_select_related = ["application", "set_up_by"]
    search_fields = ["^application__reference"]
    inlines = [MonitoringThresholdInline]
