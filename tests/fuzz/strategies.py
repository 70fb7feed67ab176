"""What the form fuzzer sends: hostile values, uploads, and hypothesis strategies built
from a rendered form."""

from urllib.parse import quote_from_bytes

from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.fuzz.html_forms import Field, Form

POST_EXAMPLES = 20
QUERY_EXAMPLES = 10
FUZZ = settings(
    max_examples=POST_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # Each example is its own rolled-back savepoint, so sharing the test's fixtures is safe.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- What to send ----------------------------------------------------------------------------

# Whatever the browser would never send. The markup strings carry MARKUP_MARKERS, which must
# never come back unescaped in an HTML page.
HOSTILE = [
    "",
    " ",
    "\x00",
    "null\x00byte",
    "A" * 60_000,
    "😀" * 2_000,
    "\u202eevil\u200b\ufeff",
    "Ω≈ç√∫\u02dcµ≤≥÷ ǅ ﷺ",
    "\r\nSet-Cookie: fuzz=1",
    "\n" * 500,
    "-1",
    "0",
    "1e309",
    "NaN",
    "-Infinity",
    "0x1F",
    "9" * 40,
    "9223372036854775808",
    "-9223372036854775809",
    "1_000",
    "٣",
    "²",
    "Ⅻ",
    "0.00000000000000000001",
    "2026-02-30",
    "0000-00-00",
    "9999-12-31",
    "31/12/2026",
    "2026-13-45T25:61:00",
    "10000-01-01",
    "' OR '1'='1",
    "1; DROP TABLE devices_application;--",
    "%_\\",
    '<script>fz("xss")</script>',
    '"><img src=x onerror=fz(1)>',
    "'><svg onload=fz(1)>",
    "javascript:fz(1)",
    "{{ settings.SECRET_KEY }}{% debug %}",
    "../../../../etc/passwd",
    "//evil.example/",
    "https://evil.example/",
]
MARKUP_MARKERS = (b"<script>fz(", b"<img src=x onerror=fz(", b"<svg onload=fz(")
# The values that break parsers (ids past 64 bits, digits int() cannot read, impossible
# dates...): each is also sent in every field of every form at once, not left to chance.
SWEEP = [
    "",
    "\x00",
    "9" * 40,
    "9223372036854775808",
    "-9223372036854775809",
    "-1",
    "1e309",
    "NaN",
    "²",
    "٣",
    "2026-02-30",
    "10000-01-01",
    "A" * 60_000,
    '<script>fz("xss")</script>',
]
# Formset management forms get counts that break naive loops.
MANAGEMENT_COUNTS = ["-1", "0", "1000", "1001", "100000000", "2.5", "ten"]
# Names a form never has, in case a view reads request.POST directly or mass-assigns.
JUNK_FIELDS = [
    "id",
    "pk",
    "state",
    "organisation",
    "is_superuser",
    "expected_state",
    "next",
    "form-TOTAL_FORMS",
    "applications",
    "decided_by",
]

UPLOAD_CONTENTS = [
    b"",
    b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n",
    b"PK\x03\x04" + b"\x00" * 60,
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 16,
    b"\xff\xd8\xff\xe0" + b"\x00" * 16,
    b"name,value\nsensitivity,0.9\n",
    b'<html><script>fz("xss")</script></html>',
    b"MZ\x90\x00\x03" + b"\x00" * 60,
    b"%PDF-1.7\n" + b"A" * 4_000,
]
UPLOAD_NAMES = [
    "evidence.pdf",
    "report.PDF",
    "../../../etc/passwd",
    "data.csv",
    "model.docx",
    "scan.png",
    "a" * 300 + ".pdf",
    "résumé ✓.pdf",
    "x.pdf.exe",
    "no-extension",
    '"><img src=x onerror=fz(1)>.pdf',
    ".pdf",
]
# Small, so the oversized-upload path is exercised without sending megabytes.
UPLOAD_LIMIT_BYTES = 2_048

scalar = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))
uploads = st.builds(
    lambda name, content, content_type: SimpleUploadedFile(name, content, content_type),
    st.sampled_from(UPLOAD_NAMES),
    st.sampled_from(UPLOAD_CONTENTS),
    st.sampled_from(["application/pdf", "text/html", "application/octet-stream", "", "x/\x00"]),
)


def plausible(entry: Field):
    """Values a person might really type into the field, so that many examples get past
    validation and the hostile ones reach the services."""
    if entry.kind == "number":
        return st.one_of(
            st.integers(min_value=0, max_value=5_000).map(str),
            st.decimals(min_value=0, max_value=1, places=4).map(str),
        )
    if entry.kind == "date":
        return st.dates().map(lambda day: day.isoformat())
    if entry.kind == "email":
        return st.emails()
    return st.text(min_size=1, max_size=200)


MANAGEMENT_FIELDS = ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")


def field_values(entry: Field):
    """What to send for one field: a list of values; [] leaves it out."""
    if entry.kind == "file":
        return st.one_of(st.just([]), uploads.map(lambda upload: [upload]))
    own = st.sampled_from(entry.values or [""])
    if entry.name.endswith(MANAGEMENT_FIELDS):
        one = st.one_of(own, own, own, st.sampled_from(MANAGEMENT_COUNTS), scalar)
    elif entry.kind in {"choice", "hidden"}:
        one = st.one_of(own, own, own, scalar)
    else:
        one = st.one_of(own, plausible(entry), plausible(entry), scalar)
    single = one.map(lambda value: [value])
    # Mostly one value; sometimes none, sometimes several where one is expected.
    return st.one_of(
        single, single, single, single, st.just([]), st.lists(one, min_size=2, max_size=3)
    )


def payloads(form: Form):
    fields = st.fixed_dictionaries({name: field_values(f) for name, f in form.fields.items()})
    junk = st.dictionaries(st.sampled_from(JUNK_FIELDS), scalar.map(lambda v: [v]), max_size=2)
    encoding = st.sampled_from(["multipart", "multipart", "urlencoded-latin-1"])
    return st.tuples(fields, junk, encoding)


def as_request(data: dict[str, list], encoding: str) -> dict:
    present = {name: values for name, values in data.items() if values}
    has_file = any(isinstance(v, SimpleUploadedFile) for vs in present.values() for v in vs)
    if encoding == "multipart" or has_file:
        return {"data": present}
    # Bytes that are not UTF-8, as a broken or hostile client would send them.
    pairs = [
        f"{quote_from_bytes(name.encode('latin-1', 'replace'))}="
        f"{quote_from_bytes(str(value).encode('latin-1', 'replace'))}"
        for name, values in present.items()
        for value in values
    ]
    return {
        "data": "&".join(pairs).encode(),
        "content_type": "application/x-www-form-urlencoded",
    }
