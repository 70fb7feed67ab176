"""Public pages of the network: the message schema and the directory of devices."""

from django.urls import path

from reviews.network import directory, inbox

app_name = "network"

urlpatterns = [
    path("schema/message-v1.json", inbox.schema_file, name="schema"),
    path("directory/", directory.directory_page, name="directory"),
    path("directory.json", directory.directory_json, name="directory-json"),
]
