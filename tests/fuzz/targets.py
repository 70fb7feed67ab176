"""TARGETS: every route of the site, who uses it, what its URL names, and whether it takes a
POST or reads a query string (tests/fuzz/test_forms_fuzz.py checks none is missing). What a
target is, and its builders, are in tests/fuzz/target_kinds.py; the URLconf walk in
tests/fuzz/fuzz_routes.py."""

import pytest

from devices.models import ApplicationState
from tests.fuzz.stage import ADMIN, ANONYMOUS, LEAD, MANUFACTURER, OBSERVER, REVIEWER
from tests.fuzz.target_kinds import (
    Target,
    accepting,
    admin_transition,
    case,
    listing,
    transition,
    with_,
)

S = ApplicationState

QUEUE_FILTERS = (
    "q",
    "state",
    "mdr_class",
    "imdrf_category",
    "clinical_area",
    "cohort",
    "assignee",
    "clock",
    "sort",
    "per_page",
    "page",
)


TARGETS: dict[str, list[Target]] = {
    # --- Signing in and accounts -------------------------------------------------------------
    "home": [Target(ADMIN)],
    "healthz": [Target(ANONYMOUS)],
    "healthz-ready": [Target(ANONYMOUS)],
    "help": [Target(ANONYMOUS)],
    "favicon": [Target(ANONYMOUS)],
    "login": [Target(ANONYMOUS, posts=True, query=("next",))],
    "logout": [Target(MANUFACTURER, posts=True, form_on="devices:home")],
    "two-factor-setup": [Target(REVIEWER, posts=True, query=("next",))],
    "two-factor-verify": [Target(REVIEWER, lambda stage: stage.authenticator(), posts=True)],
    "two-factor-enrol": [Target(REVIEWER, lambda stage: stage.enrolment_link())],
    "password_change": [Target(MANUFACTURER, posts=True)],
    "password_change_done": [Target(MANUFACTURER)],
    "password_reset": [Target(ANONYMOUS, posts=True)],
    "password_reset_done": [Target(ANONYMOUS)],
    "password_reset_confirm": [
        Target(ANONYMOUS, lambda stage: stage.reset_link(), posts=True, query=("next",))
    ],
    "password_reset_complete": [Target(ANONYMOUS)],
    # Django's admin is Django's; its one view of ours is the transition form.
    "admin:devices_application_transition": [
        admin_transition("start_screening", S.SUBMITTED),
        admin_transition("accept", S.SCREENING),
        admin_transition("request_information", S.SCREENING),
        admin_transition("respond", S.INFORMATION_REQUESTED),
        admin_transition("reject", S.SCREENING),
    ],
    # --- The manufacturer portal -------------------------------------------------------------
    "devices:home": [Target(MANUFACTURER)],
    "devices:device-list": [Target(MANUFACTURER)],
    "devices:device-create": [Target(MANUFACTURER, posts=True)],
    "devices:imdrf-category": [Target(MANUFACTURER, query=("significance", "situation"))],
    "devices:device-detail": [Target(MANUFACTURER, lambda stage: stage.device())],
    "devices:device-edit": [Target(MANUFACTURER, lambda stage: stage.device(), posts=True)],
    "devices:device-directory": [
        Target(
            MANUFACTURER,
            lambda stage: stage.device(),
            posts=True,
            form_on="devices:device-detail",
        )
    ],
    "devices:application-list": [Target(MANUFACTURER)],
    "devices:application-start": [
        Target(MANUFACTURER, listing(lambda stage: stage.device()), posts=True, query=("device",))
    ],
    "devices:application-step": [
        Target(MANUFACTURER, with_({"step": step}, case(S.DRAFT)), posts=True, label=f"step {step}")
        for step in (1, 2, 3, 4)
    ],
    "devices:application-review": [Target(MANUFACTURER, case(S.DRAFT))],
    "devices:application-submit": [Target(MANUFACTURER, case(S.DRAFT), posts=True)],
    "devices:application-detail": [Target(MANUFACTURER, case(S.SUBMITTED))],
    "devices:application-timeline": [Target(MANUFACTURER, case(S.SUBMITTED))],
    "devices:application-withdraw": [Target(MANUFACTURER, case(S.SUBMITTED), posts=True)],
    "devices:application-respond": [
        Target(MANUFACTURER, case(S.INFORMATION_REQUESTED), posts=True)
    ],
    "devices:message-create": [
        Target(
            MANUFACTURER,
            case(S.SUBMITTED),
            posts=True,
            form_on="devices:application-detail",
            headers=headers,
            label=label,
        )
        for label, headers in [("page", {}), ("htmx", {"HX-Request": "true"})]
    ],
    "devices:evidence-upload": [
        Target(MANUFACTURER, case(S.SUBMITTED), posts=True, query=("kind",))
    ],
    "devices:evidence-download": [Target(MANUFACTURER, lambda stage: stage.evidence())],
    "devices:testing": [Target(MANUFACTURER, case(S.IN_CONTROLLED_TESTING))],
    "devices:checkpoint-report": [
        Target(
            MANUFACTURER,
            with_({"sequence": 1}, case(S.IN_CONTROLLED_TESTING)),
            posts=True,
        )
    ],
    # Both forms are open during testing and on a cleared case under a monitoring plan.
    "devices:incident-report": [
        Target(MANUFACTURER, case(S.IN_CONTROLLED_TESTING), posts=True),
        Target(MANUFACTURER, lambda stage: stage.monitored(), posts=True, label="monitored"),
    ],
    "devices:model-changes": [
        Target(MANUFACTURER, case(S.IN_CONTROLLED_TESTING), posts=True),
        Target(MANUFACTURER, lambda stage: stage.monitored(), posts=True, label="monitored"),
    ],
    "devices:testing-plan": [Target(MANUFACTURER, lambda stage: stage.plan(sent=True))],
    "devices:testing-plan-agree": [
        Target(
            MANUFACTURER,
            lambda stage: stage.plan(sent=True),
            posts=True,
            form_on="devices:testing-plan",
        )
    ],
    "devices:testing-plan-return": [
        Target(
            MANUFACTURER,
            lambda stage: stage.plan(sent=True),
            posts=True,
            form_on="devices:testing-plan",
        )
    ],
    "devices:exit-report": [Target(MANUFACTURER, case(S.CLEARED))],
    # --- Notifications -----------------------------------------------------------------------
    "notifications:list": [
        Target(MANUFACTURER, listing(lambda stage: stage.notifications()), query=("show", "page"))
    ],
    "notifications:open": [Target(MANUFACTURER, lambda stage: stage.notifications())],
    "notifications:read": [
        Target(
            MANUFACTURER,
            lambda stage: stage.notifications(),
            posts=True,
            form_on="notifications:list",
        )
    ],
    "notifications:read-all": [
        Target(
            REVIEWER,
            listing(lambda stage: stage.notifications()),
            posts=True,
            form_on="notifications:list",
        )
    ],
    # --- The review workspace ----------------------------------------------------------------
    "reviews:home": [Target(REVIEWER)],
    "reviews:queue": [
        Target(REVIEWER, listing(lambda stage: stage.case(S.SUBMITTED)), query=QUEUE_FILTERS)
    ],
    "reviews:queue-export": [
        Target(REVIEWER, listing(lambda stage: stage.case(S.SUBMITTED)), query=QUEUE_FILTERS)
    ],
    "reviews:bulk-assign": [
        Target(
            LEAD,
            listing(lambda stage: stage.case(S.SUBMITTED, assignee=None)),
            posts=True,
            form_on="reviews:queue",
        )
    ],
    "reviews:conflicts": [Target(REVIEWER, listing(lambda stage: stage.device()), posts=True)],
    "reviews:countersignatures": [
        Target(LEAD, listing(lambda stage: stage.case(S.EVIDENCE_REVIEW)))
    ],
    "reviews:application": [Target(REVIEWER, case(S.SUBMITTED))],
    "reviews:claim": [
        Target(
            REVIEWER, case(S.SUBMITTED, assignee=None), posts=True, form_on="reviews:application"
        )
    ],
    "reviews:assign": [Target(LEAD, case(S.SUBMITTED), posts=True, form_on="reviews:application")],
    "reviews:note-add": [
        Target(REVIEWER, case(S.SUBMITTED), posts=True, form_on="reviews:application")
    ],
    "reviews:message-add": [
        Target(REVIEWER, case(S.SUBMITTED), posts=True, form_on="reviews:application")
    ],
    "reviews:transition": [
        transition("start_screening", S.SUBMITTED),
        transition("begin_testing", S.ACCEPTED),
        transition("suspend", S.IN_CONTROLLED_TESTING),
        transition("resume", S.SUSPENDED),
        transition("extend_testing", S.EVIDENCE_REVIEW),
    ],
    "reviews:screening": [Target(REVIEWER, case(S.SCREENING), posts=True)],
    "reviews:accept": [
        Target(REVIEWER, accepting(S.SCREENING), posts=True, form_on="reviews:screening")
    ],
    "reviews:reject": [
        Target(REVIEWER, case(S.SCREENING), posts=True, form_on="reviews:screening")
    ],
    "reviews:information-request": [Target(REVIEWER, case(S.SCREENING), posts=True)],
    "reviews:testing-plan": [Target(REVIEWER, case(S.ACCEPTED), posts=True)],
    "reviews:testing-plan-send": [
        Target(
            REVIEWER,
            lambda stage: stage.plan(sent=False),
            posts=True,
            form_on="reviews:testing-plan",
        )
    ],
    "reviews:testing-plan-withdraw": [
        Target(
            REVIEWER,
            lambda stage: stage.amendment(),
            posts=True,
            form_on="reviews:testing-plan",
        )
    ],
    "reviews:complete-testing": [Target(REVIEWER, case(S.IN_CONTROLLED_TESTING), posts=True)],
    "reviews:evidence-review": [Target(REVIEWER, case(S.EVIDENCE_REVIEW), posts=True)],
    "reviews:decision": [Target(REVIEWER, case(S.EVIDENCE_REVIEW), posts=True)],
    "reviews:countersign": [Target(LEAD, case(S.EVIDENCE_REVIEW), posts=True)],
    "reviews:withdraw-clearance": [
        Target(LEAD, case(S.EVIDENCE_REVIEW), posts=True, form_on="reviews:decision")
    ],
    "reviews:exit-report": [Target(REVIEWER, case(S.CLEARED))],
    "reviews:performance": [Target(REVIEWER, case(S.IN_CONTROLLED_TESTING))],
    # The page with a running plan (and no set-up form) is checked by the browser journey.
    "reviews:monitoring-plan": [Target(LEAD, case(S.CLEARED), posts=True)],
    "reviews:monitoring-plan-end": [Target(LEAD, lambda stage: stage.monitored(), posts=True)],
    "reviews:signal-raise": [Target(REVIEWER, case(S.IN_CONTROLLED_TESTING), posts=True)],
    "reviews:dashboard": [
        Target(REVIEWER, listing(lambda stage: stage.case(S.IN_CONTROLLED_TESTING)))
    ],
    "reviews:signals": [
        Target(REVIEWER, listing(lambda stage: stage.signal()), query=("show", "page"))
    ],
    "reviews:signal-detail": [Target(REVIEWER, lambda stage: stage.signal())],
    "reviews:model-change": [Target(REVIEWER, lambda stage: stage.model_change(), posts=True)],
    "reviews:signal-share": [
        Target(
            REVIEWER,
            lambda stage: stage.signal(),
            posts=True,
            form_on="reviews:signal-detail",
        )
    ],
    "reviews:signal-status": [
        Target(
            REVIEWER,
            lambda stage: stage.signal(),
            posts=True,
            form_on="reviews:signal-detail",
        )
    ],
    "reviews:incoming-alerts": [Target(REVIEWER, query=("page",))],
    "reviews:incoming-alert": [Target(REVIEWER, lambda stage: stage.incoming_alert())],
    "reviews:incoming-alert-receipt": [
        Target(
            REVIEWER,
            lambda stage: stage.incoming_alert(),
            posts=True,
            form_on="reviews:incoming-alert",
        )
    ],
    "reviews:signal-retract": [
        Target(
            REVIEWER,
            lambda stage: stage.shared_signal(),
            posts=True,
            form_on="reviews:signal-detail",
        )
    ],
    # --- The regulators' network (public) ----------------------------------------------------
    "network:schema": [Target(ANONYMOUS)],
    "network:directory": [Target(ANONYMOUS)],
    "network:directory-json": [Target(ANONYMOUS)],
    # --- The organisation's team and API keys --------------------------------------------------
    "teams:team": [Target(MANUFACTURER, listing(lambda stage: stage.member()))],
    "teams:invite": [Target(MANUFACTURER, posts=True, form_on="teams:team")],
    "teams:invitation-cancel": [
        Target(MANUFACTURER, lambda stage: stage.invitation(), posts=True, form_on="teams:team")
    ],
    "teams:member-role": [
        Target(MANUFACTURER, lambda stage: stage.member(), posts=True, form_on="teams:team")
    ],
    "teams:member-remove": [Target(MANUFACTURER, lambda stage: stage.member(), posts=True)],
    "teams:join": [Target(ANONYMOUS, lambda stage: stage.invitation_link(), posts=True)],
    "teams:api-keys": [Target(MANUFACTURER, listing(lambda stage: stage.api_key()), posts=True)],
    "calls:list": [Target(ANONYMOUS)],
    "observers:home": [Target(OBSERVER, listing(lambda stage: stage.observed()))],
    "observers:application": [
        Target(OBSERVER, lambda stage: {"pk": stage.observed().application_id})
    ],
    "observers:evidence-download": [
        Target(
            OBSERVER,
            lambda stage: {"pk": stage.observed().application.evidence.first().pk},
        )
    ],
    "observers:grants": [Target(LEAD, case(S.SUBMITTED), posts=True)],
    "observers:revoke": [
        Target(
            LEAD,
            lambda stage: {"pk": stage.observed().application_id},
            posts=True,
            form_on="observers:grants",
        )
    ],
    "calls:create": [Target(LEAD, posts=True), Target(ADMIN, posts=True, label="admin")],
    "calls:edit": [
        Target(LEAD, lambda stage: stage.open_call(), posts=True, label="open"),
        Target(LEAD, lambda stage: stage.call(), posts=True, label="scored"),
    ],
    "observers:manage": [
        Target(LEAD, listing(lambda stage: stage.observer_invitation()), posts=True)
    ],
    "observers:invitation-cancel": [
        Target(
            LEAD,
            lambda stage: stage.observer_invitation(),
            posts=True,
            form_on="observers:manage",
        )
    ],
    "observers:join": [
        Target(ANONYMOUS, lambda stage: stage.observer_invitation_link(), posts=True)
    ],
    "calls:selection": [Target(LEAD, lambda stage: stage.call())],
    "calls:report": [Target(REVIEWER, lambda stage: stage.call())],
    "calls:score": [Target(REVIEWER, lambda stage: stage.scorable(), posts=True)],
    "calls:moderate": [Target(LEAD, lambda stage: stage.disagreement(), posts=True)],
    "calls:select": [
        Target(LEAD, lambda stage: stage.call(), posts=True, form_on="calls:selection")
    ],
    "teams:signup": [Target(ANONYMOUS, posts=True)],
    "teams:signup-sent": [Target(ANONYMOUS)],
    "teams:signup-confirm": [Target(ANONYMOUS, lambda stage: stage.signup_link(), posts=True)],
    "teams:ask-to-join": [Target(ANONYMOUS, posts=True, form_on="teams:signup")],
    "teams:organisations": [Target(REVIEWER, listing(lambda stage: stage.waiting_organisation()))],
    "teams:organisation-approve": [
        Target(
            REVIEWER,
            lambda stage: stage.waiting_organisation(),
            posts=True,
            form_on="teams:organisations",
        )
    ],
    "teams:api-key-revoke": [
        Target(MANUFACTURER, lambda stage: stage.api_key(), posts=True, form_on="teams:api-keys")
    ],
    # --- Decision documents ------------------------------------------------------------------
    "documents:download": [Target(MANUFACTURER, lambda stage: stage.document())],
    "documents:verify": [
        Target(ANONYMOUS, posts=True),
        Target(REVIEWER, listing(lambda stage: stage.document()), posts=True),
    ],
    "documents:bundle": [Target(MANUFACTURER, case(S.SUBMITTED))],
    "documents:bundle-public-key": [Target(ANONYMOUS)],
    # --- Findings and programme reports -------------------------------------------------------
    "findings:case-findings": [Target(REVIEWER, case(S.IN_CONTROLLED_TESTING), posts=True)],
    "findings:finding-edit": [Target(REVIEWER, lambda stage: stage.finding(), posts=True)],
    "findings:register": [
        Target(
            REVIEWER,
            listing(lambda stage: stage.theme()),
            query=("area", "theme", "suggests", "page"),
        )
    ],
    "findings:themes": [Target(LEAD, listing(lambda stage: stage.theme()), posts=True)],
    "findings:theme": [Target(LEAD, lambda stage: stage.theme(), posts=True)],
    "findings:theme-finding-add": [
        Target(LEAD, lambda stage: stage.theme(), posts=True, form_on="findings:theme")
    ],
    "findings:theme-finding-remove": [
        Target(LEAD, lambda stage: stage.theme(), posts=True, form_on="findings:theme")
    ],
    "findings:programme-reports": [Target(LEAD, listing(lambda stage: stage.cohort()))],
    "findings:programme-report": [Target(LEAD, lambda stage: {"pk": stage.cohort()["pk"]})],
    "findings:programme-report-pdf": [
        Target(
            LEAD,
            lambda stage: {"pk": stage.cohort()["pk"]},
            posts=True,
            form_on="findings:programme-report",
        )
    ],
    "findings:programme-report-download": [
        Target(LEAD, lambda stage: {"pk": stage.cohort()["report"]})
    ],
    # --- The audit trail ---------------------------------------------------------------------
    "ledger:audit-export": [
        Target(
            LEAD,
            listing(lambda stage: stage.case(S.SUBMITTED)),
            query=("case", "person", "scope", "since", "until", "format"),
        )
    ],
}

# Routes whose path carries text (not only ids): those segments are fuzzed too.
PATH_TEXT: dict[str, Target] = {
    "password_reset_confirm": Target(ANONYMOUS, lambda stage: stage.reset_link()),
    "two-factor-enrol": Target(REVIEWER, lambda stage: stage.enrolment_link()),
    "reviews:transition": Target(
        REVIEWER, with_({"action": "suspend"}, case(S.IN_CONTROLLED_TESTING))
    ),
    "admin:devices_application_transition": admin_transition("accept", S.SCREENING),
    "teams:join": Target(ANONYMOUS, lambda stage: stage.invitation_link()),
    "observers:join": Target(ANONYMOUS, lambda stage: stage.observer_invitation_link()),
    "teams:signup-confirm": Target(ANONYMOUS, lambda stage: stage.signup_link()),
}


def cases(kind: str) -> list:
    return [
        pytest.param(name, target, id=f"{name}[{target.label}]" if target.label else name)
        for name, targets in TARGETS.items()
        for target in targets
        if (kind == "post" and target.posts)
        or (kind == "query" and target.query)
        or (kind == "get-only" and not target.posts)
    ]
