from django.contrib import admin

from calls.models import Call, SelectionCriterion


class SelectionCriterionInline(admin.TabularInline):
    model = SelectionCriterion
    extra = 1


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    """Administrators set up calls here: title, challenge areas, when it opens and closes,
    its places, eligibility criteria, the cohort it fills, and weighted selection criteria."""

    list_display = ["title", "opens_at", "closes_at", "capacity", "cohort"]
    list_select_related = ["cohort"]
    search_fields = ["title"]
    filter_horizontal = ["eligibility_criteria"]
    inlines = [SelectionCriterionInline]
