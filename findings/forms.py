"""Validation only: the services check the same rules again (same case, visible findings)."""

from django import forms
from django.db.models import QuerySet

from airlock.choice_fields import IdsChoiceField
from airlock.govuk_forms import GovukMessages
from devices.models import Application
from findings.models import ChallengeArea, Finding, Suggestion, Theme
from findings.services import FindingDetails


class EvidenceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        name = obj.title or obj.original_name
        return f"{obj.get_kind_display()}: {name} (version {obj.version})"


class CheckpointChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"Checkpoint {obj.sequence}, due {obj.due_on:%-d %B %Y}"


def finding_label(finding: Finding) -> str:
    return f"{finding.application.reference}: {finding.title}"


class RelatedChoiceField(IdsChoiceField):
    def label_from_instance(self, obj) -> str:
        return finding_label(obj)


class FindingChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return finding_label(obj)


class FindingForm(GovukMessages, forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    description = forms.CharField(
        label="The gap or lesson",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What the case showed that the rules do not yet answer, or what was learnt.",
    )
    challenge_area = forms.ModelChoiceField(
        label="Challenge area",
        queryset=ChallengeArea.objects.filter(is_active=True),
        widget=forms.RadioSelect,
        empty_label=None,
    )
    suggests = forms.ChoiceField(
        label="What it suggests", choices=Suggestion.choices, widget=forms.RadioSelect
    )
    evidence = EvidenceChoiceField(
        label="Evidence it came from",
        queryset=None,
        required=False,
        empty_label="None in particular",
    )
    checkpoint = CheckpointChoiceField(
        label="Checkpoint it came from",
        queryset=None,
        required=False,
        empty_label="None in particular",
    )

    def __init__(self, *args, application: Application, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evidence"].queryset = application.evidence.order_by("kind", "-version")
        self.fields["checkpoint"].queryset = application.checkpoints.order_by("sequence")

    def details(self) -> FindingDetails:
        data = self.cleaned_data
        return FindingDetails(
            title=data["title"],
            description=data["description"],
            challenge_area_id=data["challenge_area"].pk,
            suggests=data["suggests"],
            evidence_id=data["evidence"].pk if data["evidence"] else None,
            checkpoint_id=data["checkpoint"].pk if data["checkpoint"] else None,
        )

    @classmethod
    def initial_from(cls, finding: Finding) -> dict:
        return {
            "title": finding.title,
            "description": finding.description,
            "challenge_area": finding.challenge_area_id,
            "suggests": finding.suggests,
            "evidence": finding.evidence_id,
            "checkpoint": finding.checkpoint_id,
            "related": [related.pk for related in finding.related.all()],
        }


class FindingEditForm(FindingForm):
    related = RelatedChoiceField(
        label="The same gap on other cases",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, others: QuerySet[Finding], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["related"].queryset = others
        # An edit keeps an area that has since been retired.
        self.fields["challenge_area"].queryset = ChallengeArea.objects.all()


class ThemeForm(GovukMessages, forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    summary = forms.CharField(
        label="Summary",
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the findings in this theme show, in a few sentences.",
    )


class ThemeFindingForm(GovukMessages, forms.Form):
    finding = FindingChoiceField(
        label="Finding to add", queryset=None, empty_label="Choose a finding"
    )

    def __init__(self, *args, findings: QuerySet[Finding], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["finding"].queryset = findings


class RegisterFilterForm(forms.Form):
    """The register's filters, read from the query string (bad values are ignored)."""

    area = forms.ModelChoiceField(
        label="Challenge area",
        queryset=ChallengeArea.objects.all(),
        required=False,
        empty_label="Any",
    )
    theme = forms.ModelChoiceField(
        label="Theme", queryset=Theme.objects.all(), required=False, empty_label="Any"
    )
    suggests = forms.ChoiceField(
        label="Suggests", choices=[("", "Any"), *Suggestion.choices], required=False
    )
