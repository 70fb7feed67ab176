"""Forms for the manufacturer portal: validation only. Saving goes through devices.services."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from airlock.govuk_forms import GovukMessages
from calls.models import Call
from devices.models import Application, Device, EvidenceKind, Organisation
from devices.uploads import ALLOWED_DESCRIPTION, inspect_upload


def _without_blank_choice(form: forms.BaseForm, *names: str) -> None:
    # Radio buttons need no "---------" option: nothing ticked already means "not chosen".
    for name in names:
        field = form.fields[name]
        field.choices = [(value, label) for value, label in field.choices if value != ""]


class DeviceForm(GovukMessages, forms.ModelForm):
    class Meta:
        model = Device
        fields = [
            "name",
            "version",
            "intended_purpose",
            "clinical_area",
            "care_setting",
            "mdr_class",
            "significance",
            "situation",
            "ai_type",
            "pccp_summary",
            "model_summary",
            "training_data_summary",
        ]
        widgets = {
            "intended_purpose": forms.Textarea(attrs={"rows": 3}),
            "significance": forms.RadioSelect,
            "situation": forms.RadioSelect,
            "ai_type": forms.RadioSelect,
            "pccp_summary": forms.Textarea(attrs={"rows": 4}),
            "model_summary": forms.Textarea(attrs={"rows": 3}),
            "training_data_summary": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "significance": "What the device's output is used for. With the healthcare "
            "situation, this sets the IMDRF SaMD category.",
            "situation": "How serious the condition of the patients it is used for is.",
        }

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        _without_blank_choice(self, "significance", "situation", "ai_type")

    def clean(self):
        cleaned = super().clean()
        name, version = cleaned.get("name"), cleaned.get("version")
        if name and version:
            # The database constraint covers the organisation, which is not a form field, so
            # ModelForm would skip it and the save would fail instead of showing an error.
            duplicate = (
                Device.objects.filter(
                    organisation=self.organisation, name__iexact=name, version__iexact=version
                )
                .exclude(pk=self.instance.pk)
                .exists()
            )
            if duplicate:
                self.add_error(
                    "version",
                    f"{self.organisation} already has {name} version {version}. "
                    "Give this one a different version.",
                )
        return cleaned


class DraftStepForm(GovukMessages, forms.ModelForm):
    """One step of the application form. "Save and continue" needs every field on the step;
    "Save as draft" keeps whatever is there (still checked) to finish later."""

    def __init__(self, *args, draft: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = not draft


class DeviceStepForm(DraftStepForm):
    class Meta:
        model = Application
        fields = ["call", "device", "sandbox_environment"]
        widgets = {"sandbox_environment": forms.RadioSelect, "call": forms.RadioSelect}
        help_texts = {
            "device": "The device (and version) you want to bring into the sandbox.",
            "sandbox_environment": "Where you want to test it. Simulation uses workshop "
            "scenarios; virtual uses real data in a controlled environment; real-world runs in "
            "the intended setting, kept apart from clinical decisions.",
        }

    def __init__(self, *args, devices, calls, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["device"].queryset = devices
        self.fields["device"].empty_label = "Choose a device"
        _without_blank_choice(self, "sandbox_environment")
        # Only open calls can be chosen; a draft keeps the call it has, open or not. With one
        # call to choose there is nothing to ask: it is that one.
        self.calls = calls
        field = self.fields["call"]
        field.queryset = Call.objects.filter(pk__in=[call.pk for call in calls])
        field.empty_label = None
        if len(calls) == 1:
            field.required = False
            field.widget = forms.HiddenInput()
        else:
            field.required = True

    def clean_call(self):
        call = self.cleaned_data.get("call")
        if call is None and len(self.calls) == 1:
            return self.calls[0]
        return call


class ChallengeStepForm(DraftStepForm):
    class Meta:
        model = Application
        fields = ["regulatory_challenge", "patient_benefit"]
        widgets = {
            "regulatory_challenge": forms.Textarea(attrs={"rows": 5}),
            "patient_benefit": forms.Textarea(attrs={"rows": 5}),
        }


class MaturityStepForm(DraftStepForm):
    class Meta:
        model = Application
        fields = ["maturity", "nhs_sites"]
        widgets = {"maturity": forms.RadioSelect, "nhs_sites": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _without_blank_choice(self, "maturity")


class EvidenceUploadForm(GovukMessages, forms.Form):
    kind = forms.ChoiceField(label="Kind of document", choices=EvidenceKind.choices)
    title = forms.CharField(
        label="Title (optional)",
        max_length=200,
        required=False,
        help_text="A short name reviewers will recognise, e.g. “Risk management file, issue 3”.",
    )
    file = forms.FileField(
        label="File",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.docx,.xlsx,.csv,.png,.jpg,.jpeg"}),
        error_messages={"required": "Choose a file to upload.", "empty": "This file is empty."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read at form time, not import time, so the configured cap is always the one quoted.
        limit = filesizeformat(settings.EVIDENCE_MAX_UPLOAD_BYTES)
        self.fields["file"].help_text = (
            f"{ALLOWED_DESCRIPTION}, up to {limit}. Uploading the same kind again adds a new "
            "version; earlier versions are kept."
        )

    def clean_file(self):
        # Checked by its contents, so a disguised or oversized file is an error on this field.
        return inspect_upload(self.cleaned_data["file"])


class WithdrawForm(GovukMessages, forms.Form):
    reason = forms.CharField(
        label="Why are you withdrawing?",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text="This goes on the case record and the regulator sees it.",
        error_messages={"required": "Give a reason for withdrawing."},
    )
    # The state the person saw, so a change made meanwhile is refused rather than overridden.
    expected_state = forms.CharField(widget=forms.HiddenInput)


class InformationResponseForm(GovukMessages, forms.Form):
    response = forms.CharField(
        label="Your response",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=20000,
        help_text="Answer each question. Upload any supporting documents as evidence first.",
        error_messages={"required": "Write your response to the questions."},
    )
    expected_state = forms.CharField(widget=forms.HiddenInput)


class MessageForm(GovukMessages, forms.Form):
    body = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="The regulator's reviewers see this on the case.",
        error_messages={"required": "Write a message before sending."},
    )
