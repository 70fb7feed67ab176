from django import forms
from django.db.models import QuerySet

from airlock.date_input import GovukDateField
from airlock.govuk_forms import GovukMessages
from airlock.models import User
from devices.models import Application


class AuditExportForm(GovukMessages, forms.Form):
    """What an inspection or information request asks for: any of case, person and period,
    or only the rows about no case (the programme's own)."""

    case = forms.CharField(
        label="Case reference",
        required=False,
        max_length=30,
        # Not a year the test factories number cases in: the permission sweep looks for its
        # cases' references in every page, and would find an example that matched one.
        help_text="For example AIA-2025-0042. Leave empty for every case.",
    )
    person = forms.EmailField(
        label="Person's email address",
        required=False,
        help_text="Rows that name this person: who acted, uploaded, decided, or whose sign-in.",
    )
    scope = forms.ChoiceField(
        label="Rows",
        required=False,
        choices=[
            (
                "all",
                "Every case you may see, and the rows about no case (when no case is given)",
            ),
            (
                "programme",
                "Only the rows about no case: observer invitations, calls, themes and "
                "programme reports (for administrators also sign-in security, teams and "
                "revoked documents)",
            ),
        ],
        initial="all",
        widget=forms.RadioSelect,
    )
    since = GovukDateField(label="From", required=False)
    until = GovukDateField(label="To", required=False)
    format = forms.ChoiceField(
        label="Format",
        choices=[("csv", "CSV (a spreadsheet)"), ("json", "JSON")],
        initial="csv",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, cases: QuerySet[Application], **kwargs):
        super().__init__(*args, **kwargs)
        self.cases = cases

    def clean_case(self) -> Application | None:
        reference = self.cleaned_data["case"].strip()
        if not reference:
            return None
        # Only the cases this person may see: a conflicted lead reviewer is told no case has
        # the reference, as the case pages would answer 404.
        application = self.cases.filter(reference__iexact=reference).first()
        if application is None:
            raise forms.ValidationError("No case has this reference.")
        return application

    def clean_person(self) -> User | None:
        email = self.cleaned_data["person"]
        if not email:
            return None
        person = User.objects.filter(email__iexact=email).first()
        if person is None:
            raise forms.ValidationError("Nobody in Airlock has this email address.")
        return person

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the period must be on or after its start.")
        # An old link without the field asks for what the export gave before it: everything.
        data["scope"] = data.get("scope") or "all"
        if data["scope"] == "programme" and data.get("case"):
            self.add_error("scope", "Leave the case reference empty for the rows about no case.")
        return data
