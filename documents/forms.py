import hashlib
import re

from django import forms
from django.conf import settings

from airlock.govuk_forms import GovukMessages

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class VerifyForm(GovukMessages, forms.Form):
    """A document's fingerprint: pasted, or computed here from the uploaded PDF."""

    sha256 = forms.CharField(
        label="SHA-256 fingerprint",
        required=False,
        max_length=80,
        help_text="64 characters, 0-9 and a-f. Or choose the PDF below instead.",
    )
    file = forms.FileField(
        label="The PDF",
        required=False,
        help_text="Checked here and not kept.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"}),
    )

    def clean_sha256(self) -> str:
        value = re.sub(r"\s", "", self.cleaned_data["sha256"]).lower()
        if value and not SHA256.match(value):
            raise forms.ValidationError("A SHA-256 fingerprint is 64 characters, each 0-9 or a-f.")
        return value

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload and upload.size > settings.VERIFY_MAX_UPLOAD_BYTES:
            limit = settings.VERIFY_MAX_UPLOAD_BYTES // (1024 * 1024)
            raise forms.ValidationError(f"The file is larger than {limit} MB: no document is.")
        return upload

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        upload, pasted = data.get("file"), data.get("sha256")
        if not upload and not pasted:
            raise forms.ValidationError("Paste the fingerprint or choose the PDF.")
        if upload:
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            data["sha256"] = digest.hexdigest()
        return data
