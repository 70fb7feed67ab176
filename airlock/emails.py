"""Emails are template triples under templates/emails/: NAME_subject.txt, NAME.txt, NAME.html."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated(name: str, context: dict, recipients: list[str]) -> int:
    """Send one email to each recipient (so no one sees the others' addresses)."""
    if not recipients:
        return 0
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
    text = render_to_string(f"emails/{name}.txt", context)
    html = render_to_string(f"emails/{name}.html", context)
    sent = 0
    for recipient in sorted(set(recipients)):
        message = EmailMultiAlternatives(subject, text, to=[recipient])
        message.attach_alternative(html, "text/html")
        sent += message.send()
    return sent
