from devices.models import Application, ApplicationState, EvidenceDocument
from tests.e2e.conftest import login
from tests.factories import TEST_PASSWORD

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EVIDENCE = {
    "risk_management": "risk-management-file.pdf",
    "clinical_evaluation": "clinical-evaluation.pdf",
    "data_protection": "dpia.pdf",
}


def test_a_manufacturer_registers_a_device_applies_and_submits(
    page, screenshot, manufacturer, tmp_path
):
    login(page, manufacturer.email, TEST_PASSWORD)
    page.get_by_role("heading", name="Needs your attention").wait_for()
    screenshot("01-dashboard")

    page.get_by_role("link", name="Register a device").first.click()
    page.locator("[name=name]").fill("LungScan AI")
    page.locator("[name=version]").fill("2.1")
    page.locator("[name=intended_purpose]").fill(
        "Flags chest X-rays suggestive of COPD for review by a GP."
    )
    page.locator("[name=clinical_area]").select_option("respiratory")
    page.locator("[name=care_setting]").select_option("primary")
    page.locator("[name=mdr_class]").select_option("IIa")
    page.get_by_label("Drive clinical management").check()
    page.get_by_label("Serious", exact=True).check()
    page.get_by_text("IMDRF SaMD category: II").wait_for()
    page.get_by_label("Adaptive model with a PCCP").check()
    page.locator("[name=model_summary]").fill("Convolutional network; output COPD likelihood.")
    page.locator("[name=training_data_summary]").fill("120,000 X-rays from 6 NHS trusts.")
    page.get_by_role("button", name="Register device").click()
    page.get_by_role("alert").get_by_text("There is a problem").wait_for()
    screenshot("02-device-errors")

    page.get_by_label("Locked model").check()
    page.get_by_role("button", name="Register device").click()
    page.get_by_role("heading", name="LungScan AI 2.1").wait_for()
    assert page.get_by_text("Category II", exact=True).is_visible()
    screenshot("03-device")

    page.get_by_role("link", name="Start an application for this device").click()
    page.get_by_text("Step 1 of 4").wait_for()
    page.get_by_label("Virtual (real data, controlled environment)").check()
    page.get_by_role("button", name="Save and continue").click()

    page.locator("[name=regulatory_challenge]").fill(
        "How should performance drift be monitored in general practice?"
    )
    page.locator("[name=patient_benefit]").fill("Earlier COPD diagnosis; fewer admissions.")
    screenshot("04-step-2")
    page.get_by_role("button", name="Save as draft").click()
    page.get_by_text("Draft AIA-").wait_for()
    screenshot("05-dashboard-with-draft")

    page.get_by_role("link", name="Continue AIA-").click()
    # The task list: each step's status, the draft's answers so far below it.
    page.get_by_role("heading", name="Your application to the AI Airlock").wait_for()
    assert page.locator("#task-1-status").inner_text() == "Completed"
    assert page.locator("#task-3-status").inner_text() == "Not yet started"
    screenshot("05-task-list")
    page.get_by_role("link", name="Maturity and NHS sites", exact=True).click()
    page.get_by_label("Validated on retrospective data").check()
    page.locator("[name=nhs_sites]").fill("Leeds Teaching Hospitals\nBradford GP Federation")
    page.get_by_role("button", name="Save and continue").click()

    page.get_by_role("heading", name="Upload a document").wait_for()
    for kind, filename in EVIDENCE.items():
        path = tmp_path / filename
        path.write_bytes(PDF + filename.encode())
        page.locator("[name=kind]").select_option(kind)
        page.locator("[name=file]").set_input_files(path)
        page.get_by_role("button", name="Upload").click()
        page.get_by_text("uploaded as version 1").wait_for()
    screenshot("06-evidence")

    page.get_by_role("link", name="Continue to check and submit").click()
    page.get_by_role("heading", name="Submit your application").wait_for()
    screenshot("07-review")
    page.get_by_role("link", name="Continue to submit").click()
    page.get_by_role("heading", name="What happens when you submit").wait_for()
    assert page.get_by_text("This cannot be undone.").is_visible()
    assert Application.objects.get().state == ApplicationState.DRAFT
    screenshot("07-confirm")
    page.get_by_role("button", name="Submit the application").click()

    page.get_by_text("is submitted").wait_for()
    application = Application.objects.get()
    assert application.state == ApplicationState.SUBMITTED
    assert EvidenceDocument.objects.filter(application=application).count() == 3
    assert page.locator(".govuk-tag", has_text=ApplicationState.SUBMITTED.label).first.is_visible()
    screenshot("08-case")

    page.get_by_role("link", name="Timeline").click()
    page.get_by_text("Draft → Submitted").wait_for()
    screenshot("09-timeline")

    page.get_by_role("link", name="How the sandbox works").click()
    page.get_by_role("heading", name="Every transition").wait_for()
    page.get_by_role("img", name="State diagram of an application").wait_for()
    page.wait_for_function("document.querySelector('img.state-diagram').naturalWidth > 0")
    screenshot("10-help")
