"""The site is drawn with GOV.UK Frontend and MOJ Frontend only: no Bootstrap class may be left
in a template (a stray `btn` or `col-md-6` renders unstyled, and says the page was missed)."""

import re
from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# E-mails are styled inline for mail clients, the admin is Django's own, and Swagger UI brings
# its own stylesheet: none of them loads either framework. The PDFs (documents/pdf) are drawn by
# WeasyPrint with their own print stylesheet, static/css/pdf.css, whose classes only share names.
SKIPPED = {"emails", "admin", "drf_spectacular", "pdf"}
BOOTSTRAP = re.compile(
    r"^(btn(-[a-z-]+)?|col(-(xs|sm|md|lg|xl|xxl))?(-\d+|-auto)?|row|g-\d|container(-fluid)?"
    r"|form-(control|select|check[a-z-]*|label|text|group|floating)|input-group[a-z-]*"
    r"|alert(-[a-z]+)?|badge|text-bg-[a-z]+|bg-(primary|secondary|success|danger|warning|info|light|dark)"
    r"|navbar[a-z-]*|nav(-link|-item|-tabs|-pills)?|card(-[a-z]+)?|breadcrumb(-item)?"
    r"|pagination|page-(item|link)|table(-[a-z]+)?|list-group[a-z-]*|d-(flex|none|block|inline[a-z-]*)"
    r"|[mp][tbsexy]?-\d|(justify-content|align-items)-[a-z]+|text-(body|muted|end|start|center)[a-z-]*"
    r"|fw-[a-z]+|fs-\d|h[1-6]|display-\d|lead|small|visually-hidden(-focusable)?|is-(in)?valid"
    r"|(in)?valid-feedback|modal[a-z-]*|dropdown[a-z-]*|collapse|fade|show|rounded[a-z-]*|shadow[a-z-]*)$"
)
CLASS_ATTRIBUTE = re.compile(r'class="([^"]*)"')


def template_classes():
    for path in sorted(TEMPLATES.rglob("*.html")):
        if SKIPPED & set(path.relative_to(TEMPLATES).parts):
            continue
        for value in CLASS_ATTRIBUTE.findall(path.read_text()):
            # Template tags inside the attribute are left out; the words around them are checked.
            words = re.sub(r"\{[{%].*?[%}]\}", " ", value).split()
            for word in words:
                yield path.relative_to(TEMPLATES), word


def test_it_finds_a_bootstrap_class_in_a_sample():
    assert all(BOOTSTRAP.match(word) for word in ["btn", "col-md-6", "row", "alert-danger", "mb-3"])
    assert not any(
        BOOTSTRAP.match(word) for word in ["govuk-button", "govuk-grid-row", "moj-badge"]
    )


def test_it_leaves_no_bootstrap_class_in_any_template():
    left = sorted({f"{path}: {word}" for path, word in template_classes() if BOOTSTRAP.match(word)})

    assert not left, "Bootstrap classes left in templates:\n" + "\n".join(left)
