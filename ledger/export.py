"""The audit rows an inspection or an information request asks for: by case, person, period,
or only the rows about no case (the programme's own: observer invitations, calls, themes).

Each chained table says which field names its case, its people and its time (ledger.models.
Chained); rows come back in chain order with their link, so whoever receives the export can
check each row against the chain.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Q, QuerySet
from django.utils import timezone

from ledger.chain import chained_models
from ledger.models import ChainLink

# An export is read in one go; past this the person narrows the filter (the form says so).
EXPORT_LIMIT = 20000


@dataclass(frozen=True)
class AuditRow:
    seq: int
    table: str
    row_id: int
    at: datetime
    case: str
    people: str
    action: str
    detail: str
    content_hash: str
    link_hash: str

    def as_dict(self) -> dict:
        return {
            "seq": self.seq,
            "table": self.table,
            "row_id": self.row_id,
            "at": self.at.isoformat(),
            "case": self.case,
            "people": self.people,
            "action": self.action,
            "detail": self.detail,
            "content_hash": self.content_hash,
            "link_hash": self.link_hash,
        }


def _bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    zone = timezone.get_current_timezone()
    start = datetime.combine(since, time.min, zone) if since else None
    end = datetime.combine(until, time.max, zone) if until else None
    return start, end


def audit_rows(
    *,
    cases: QuerySet,
    include_caseless: bool,
    application_id: int | None = None,
    person_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
    about_no_case: bool = False,
) -> list[AuditRow]:
    """Every chained audit row matching all the filters given, in chain order, at most
    EXPORT_LIMIT + 1 (so the caller can tell the result was cut).

    `cases` is the cases the reader may see (devices.selectors.applications_for): rows about
    any other case are left out. Rows about no case come with every export that names no
    case: the programme's own (a table's AUDIT_PROGRAMME: observer invitations, calls,
    themes, programme reports) for every reader, the rest (sign-in security, teams, document
    revocations) only with `include_caseless`. `about_no_case` leaves out the cases' rows."""
    start, end = _bounds(since, until)
    found = []
    for source, model in sorted(chained_models().items()):
        rows = model._base_manager.all()
        caseless_readable = model.AUDIT_PROGRAMME or include_caseless
        if model.AUDIT_CASE_FIELD is None:
            if application_id is not None or not caseless_readable:
                continue
        elif application_id is not None:
            rows = rows.filter(
                **{
                    f"{model.AUDIT_CASE_FIELD}__in": cases.values("pk"),
                    f"{model.AUDIT_CASE_FIELD}_id": application_id,
                }
            )
        else:
            about_a_case = Q(**{f"{model.AUDIT_CASE_FIELD}__in": cases.values("pk")})
            no_case = Q(**{f"{model.AUDIT_CASE_FIELD}__isnull": True})
            nullable = model._meta.get_field(model.AUDIT_CASE_FIELD).null
            if about_no_case:
                if not (nullable and caseless_readable):
                    continue
                rows = rows.filter(no_case)
            elif nullable and caseless_readable:
                rows = rows.filter(about_a_case | no_case)
            else:
                rows = rows.filter(about_a_case)
        if person_id is not None:
            who = Q()
            for name in model.AUDIT_PERSON_FIELDS:
                who |= Q(**{f"{name}_id": person_id})
            rows = rows.filter(who)
        if start:
            rows = rows.filter(**{f"{model.AUDIT_TIME_FIELD}__gte": start})
        if end:
            rows = rows.filter(**{f"{model.AUDIT_TIME_FIELD}__lte": end})
        related = list(model.AUDIT_PERSON_FIELDS)
        if model.AUDIT_CASE_FIELD:
            related.append(model.AUDIT_CASE_FIELD)
        found.extend((source, row) for row in rows.select_related(*related)[: EXPORT_LIMIT + 1])
    links = _links(found)
    out = []
    for source, row in found:
        link = links.get((source, row.pk))
        case = getattr(row, row.AUDIT_CASE_FIELD) if row.AUDIT_CASE_FIELD else None
        out.append(
            AuditRow(
                seq=link.seq if link else 0,
                table=source,
                row_id=row.pk,
                at=getattr(row, row.AUDIT_TIME_FIELD),
                case=case.reference if case else "",
                people="; ".join(
                    str(person)
                    for person in (getattr(row, name) for name in row.AUDIT_PERSON_FIELDS)
                    if person is not None
                ),
                action=row.audit_action(),
                detail=row.audit_detail(),
                content_hash=link.content_hash if link else "",
                link_hash=link.hash if link else "",
            )
        )
    out.sort(key=lambda item: (item.seq, item.table, item.row_id))
    return out[: EXPORT_LIMIT + 1]


def _links(found: list) -> dict[tuple[str, int], ChainLink]:
    wanted: dict[str, list[int]] = {}
    for source, row in found:
        wanted.setdefault(source, []).append(row.pk)
    links = {}
    for source, ids in wanted.items():
        for start in range(0, len(ids), 5000):
            for link in ChainLink.objects.filter(
                source=source, object_id__in=ids[start : start + 5000]
            ):
                links[(source, link.object_id)] = link
    return links
