"""Public pages of the network: the message schema (and, with it, the directory)."""

from django.urls import path

from reviews.network import inbox

app_name = "network"

urlpatterns = [
    path("schema/message-v1.json", inbox.schema_file, name="schema"),
]
