"""The forms a page renders, read from its HTML as a browser would submit them."""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit


@dataclass
class Field:
    name: str
    # "choice" (select, radio, checkbox, named button), "textarea", or the <input> type:
    # "text", "number", "date", "email", "password", "hidden", "file".
    kind: str
    values: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    method: str
    id: str
    fields: dict[str, Field] = field(default_factory=dict)

    def add(self, name: str, kind: str, value: str | None) -> None:
        if name == "csrfmiddlewaretoken":
            return
        entry = self.fields.setdefault(name, Field(name, kind))
        if kind == "choice":
            entry.kind = "choice"
        if value is not None and value not in entry.values:
            entry.values.append(value)


class FormParser(HTMLParser):
    """Every <form> on a page with its fields, including fields outside it that name it with
    form="id" (the review queue's tick boxes) and htmx's hx-post forms."""

    BUTTONS = {"submit", "button", "image", "reset"}
    TYPED = {"number", "date", "email", "password", "hidden"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.current: Form | None = None
        # The open <select> or <textarea>, and the form it belongs to.
        self.select: tuple[Form, str] | None = None
        self.textarea: tuple[Form, str] | None = None
        self.text = ""

    def _owner(self, attrs: dict) -> Form | None:
        if attrs.get("form"):
            return next((f for f in self.forms if f.id == attrs["form"]), None)
        return self.current

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form":
            action = attrs.get("hx-post") or attrs.get("action", "")
            method = "post" if attrs.get("hx-post") else attrs.get("method", "get").lower()
            self.current = Form(action=action, method=method, id=attrs.get("id", ""))
            self.forms.append(self.current)
            return
        if tag == "option" and self.select:
            owner, name = self.select
            owner.add(name, "choice", attrs.get("value", ""))
            return
        owner = self._owner(attrs)
        name = attrs.get("name")
        if owner is None or not name:
            return
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind == "file":
                owner.add(name, "file", None)
            elif kind in {"radio", "checkbox"} or kind in self.BUTTONS:
                owner.add(name, "choice", attrs.get("value", "on" if kind == "checkbox" else ""))
            else:
                typed = kind if kind in self.TYPED else "text"
                owner.add(name, typed, attrs.get("value", ""))
        elif tag == "button":
            owner.add(name, "choice", attrs.get("value", ""))
        elif tag == "select":
            owner.add(name, "choice", None)
            self.select = (owner, name)
        elif tag == "textarea":
            self.textarea, self.text = (owner, name), ""
            owner.add(name, "textarea", None)

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea:
            owner, name = self.textarea
            owner.add(name, "textarea", self.text.lstrip("\n"))
            self.textarea = None


def forms_on(html: str, page_url: str) -> list[Form]:
    parser = FormParser()
    parser.feed(html)
    for form in parser.forms:
        form.action = urlsplit(urljoin(page_url, form.action)).path
    return parser.forms
