"""The audit export: lead reviewers and administrators only."""

import csv
import json
from datetime import UTC

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from airlock.spreadsheets import Echo, safe_cell
from devices.selectors import applications_for
from ledger.export import EXPORT_LIMIT, AuditRow, audit_rows
from ledger.forms import AuditExportForm
from reviews.views.access import lead_required

CSV_HEADER = [
    "Link",
    "Table",
    "Row",
    "When (UTC)",
    "Case",
    "People",
    "Action",
    "Detail",
    "Content SHA-256",
    "Link SHA-256",
]


def _csv(rows: list[AuditRow]) -> StreamingHttpResponse:
    writer = csv.writer(Echo())
    lines = [CSV_HEADER] + [
        [
            row.seq,
            row.table,
            row.row_id,
            row.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            row.case,
            row.people,
            row.action,
            row.detail,
            row.content_hash,
            row.link_hash,
        ]
        for row in rows
    ]
    return StreamingHttpResponse(
        (writer.writerow([safe_cell(value) for value in line]) for line in lines),
        content_type="text/csv; charset=utf-8",
    )


def _json(rows: list[AuditRow], filters: dict) -> HttpResponse:
    body = {"exported_at": timezone.now().isoformat(), "filters": filters}
    body["rows"] = [row.as_dict() for row in rows]
    return HttpResponse(json.dumps(body, indent=1), content_type="application/json")


@lead_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    """The form; with its answers (`format` present), the file, or the form with errors."""
    cases = applications_for(request.user)
    form = AuditExportForm(request.GET if "format" in request.GET else None, cases=cases)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        rows = audit_rows(
            cases=cases,
            # Rows about no case that are not the programme's own (sign-in security, teams,
            # revoked documents): administrators only (ledger.models.Chained.AUDIT_PROGRAMME).
            include_caseless=request.user.is_superuser,
            application_id=data["case"].pk if data["case"] else None,
            person_id=data["person"].pk if data["person"] else None,
            since=data["since"],
            until=data["until"],
            about_no_case=data["scope"] == "programme",
        )
        if len(rows) > EXPORT_LIMIT:
            form.add_error(
                None, f"More than {EXPORT_LIMIT:,} rows match: narrow the case, person or period."
            )
        else:
            filters = {
                "case": data["case"].reference if data["case"] else None,
                "person": data["person"].email if data["person"] else None,
                "since": data["since"].isoformat() if data["since"] else None,
                "until": data["until"].isoformat() if data["until"] else None,
                "rows": "about no case" if data["scope"] == "programme" else "all",
            }
            response = _csv(rows) if data["format"] == "csv" else _json(rows, filters)
            stamp = timezone.localtime().strftime("%Y-%m-%d")
            response["Content-Disposition"] = (
                f'attachment; filename="audit-export-{stamp}.{data["format"]}"'
            )
            return response
    return render(request, "ledger/audit_export.html", {"form": form})
