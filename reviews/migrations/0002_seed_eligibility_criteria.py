from django.db import migrations

# FCA-sandbox-style criteria adapted to the AI Airlock; lead reviewers refine them in the admin.
CRITERIA = [
    (
        "in-scope",
        "In scope",
        "Is the product AI as a medical device under the UK Medical Devices Regulations 2002, "
        "brought by a legal entity able to place it on the UK market?",
        "Medical purpose under UK MDR; AI is central to that purpose; UK legal entity.",
        "Wellness or administrative software; no UK route to market.",
    ),
    (
        "genuine-innovation",
        "Genuine innovation",
        "Does the product raise a novel regulatory question that existing guidance does not answer?",
        "No established route for the question; new kind of model or deployment.",
        "Similar products already regulated without difficulty.",
    ),
    (
        "patient-benefit",
        "Patient and NHS benefit",
        "Is there a credible, measurable benefit to patients or the NHS?",
        "Defined outcome measures; evidence of unmet need.",
        "Benefit is only to the manufacturer; no way to measure it.",
    ),
    (
        "readiness",
        "Readiness",
        "Is the product and the team ready to test within the programme's timescale, for the "
        "whole programme?",
        "Working product; sites and data lined up; named people committed.",
        "Concept only; no access to data or sites.",
    ),
    (
        "need-for-sandbox",
        "Need for the sandbox",
        "Does the manufacturer need the sandbox, rather than ordinary guidance, to answer the "
        "question?",
        "The question can only be answered by supervised testing.",
        "The answer is already available through published guidance.",
    ),
]


def seed(apps, schema_editor):
    criterion = apps.get_model("reviews", "EligibilityCriterion")
    for order, (code, title, question, positive, negative) in enumerate(CRITERIA, start=1):
        criterion.objects.update_or_create(
            code=code,
            defaults={
                "title": title,
                "question": question,
                "positive_indicators": positive,
                "negative_indicators": negative,
                "order": order,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
