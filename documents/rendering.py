"""HTML to PDF with WeasyPrint, offline: a template and the PDF stylesheet in, PDF/A bytes out."""

from django.conf import settings
from django.template.loader import render_to_string

# PDF/A-3b: an archival PDF (fonts embedded, no external content), which WeasyPrint 70 writes.
PDF_VARIANT = "pdf/a-3b"
STYLESHEET = settings.BASE_DIR / "static" / "css" / "pdf.css"


def render_pdf(template: str, context: dict) -> bytes:
    # Imported here: WeasyPrint loads Pango and its default stylesheets when imported, which
    # only the documents worker needs (not every web process that imports this module).
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    # Drawn from our own files only: never fetch from the network (a URL written into a
    # rationale must not make the worker call out).
    local_only = URLFetcher(allowed_protocols={"file"}, allow_redirects=False)
    html = render_to_string(template, context)
    return HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=local_only).write_pdf(
        stylesheets=[CSS(filename=str(STYLESHEET), url_fetcher=local_only)], pdf_variant=PDF_VARIANT
    )
