from django.urls import path

from ledger import views

app_name = "ledger"

urlpatterns = [
    path("export/", views.audit_export, name="audit-export"),
]
