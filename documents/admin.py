from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render

from documents.models import CaseDocument, DocumentRevocation
from documents.services import case_document_revoke


class RevokeForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea, help_text="It goes on the audit trail.")


@admin.register(CaseDocument)
class CaseDocumentAdmin(admin.ModelAdmin):
    """Read-only: documents are issued by the service and only ever revoked."""

    list_display = ["reference", "application", "kind", "issued_at", "sha256"]
    list_filter = ["kind"]
    search_fields = ["reference", "=sha256", "application__reference"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke the selected documents")
    def revoke(self, request, queryset):
        form = RevokeForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            for document in queryset:
                try:
                    case_document_revoke(
                        actor=request.user,
                        document_id=document.pk,
                        reason=form.cleaned_data["reason"],
                    )
                except (PermissionError, ValueError) as refused:
                    messages.error(request, str(refused))
                else:
                    messages.success(request, f"{document.reference} revoked.")
            return redirect(request.get_full_path())
        return render(
            request,
            "documents/admin_revoke.html",
            {"form": form, "documents": queryset, "opts": self.model._meta},
        )


@admin.register(DocumentRevocation)
class DocumentRevocationAdmin(admin.ModelAdmin):
    list_display = ["document", "actor", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
