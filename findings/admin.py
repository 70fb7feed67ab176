"""Administrators keep the challenge areas; findings, themes and reports are read here and
changed on the site (through the services, which audit them)."""

from django.contrib import admin

from findings.models import (
    ChallengeArea,
    Finding,
    FindingEvent,
    ProgrammeEvent,
    ProgrammeReport,
    Theme,
)


@admin.register(ChallengeArea)
class ChallengeAreaAdmin(admin.ModelAdmin):
    list_display = ["name", "phase", "is_active"]
    list_filter = ["phase", "is_active"]
    search_fields = ["name"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Findings point at their area: retire an area (is_active) rather than delete it.
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ["title", "application", "challenge_area", "suggests", "recorded_at"]
    list_filter = ["challenge_area", "suggests"]
    list_select_related = ["application", "challenge_area"]
    search_fields = ["title", "application__reference"]


@admin.register(Theme)
class ThemeAdmin(ReadOnlyAdmin):
    list_display = ["name", "created_at"]


@admin.register(ProgrammeReport)
class ProgrammeReportAdmin(ReadOnlyAdmin):
    list_display = ["cohort", "requested_by", "requested_at", "drawn_at", "sha256"]
    list_select_related = ["cohort", "requested_by"]


@admin.register(FindingEvent)
class FindingEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "application", "kind", "actor", "detail"]
    list_select_related = ["application", "actor"]


@admin.register(ProgrammeEvent)
class ProgrammeEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "actor", "detail"]
    list_select_related = ["actor"]
