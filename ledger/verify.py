"""Walking the audit chain: the first link that does not hold, in words.

Read in pages of links by seq (keyset, so memory stays bounded however long the chain), with
one query per audit table per page for the rows the links point at.
"""

from dataclasses import dataclass

from ledger.chain import attnames, chained_models, content_hash
from ledger.models import GENESIS, HEAD_PK, ChainHead, ChainLink

PAGE = 2000


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    source: str
    object_id: int | None
    what: str

    def __str__(self) -> str:
        where = f"link {self.seq}" if self.seq is not None else "outside the chain"
        row = f"{self.source} #{self.object_id}" if self.object_id is not None else self.source
        return f"{where} ({row}): {self.what}"


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_seq: int
    head_hash: str
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _rows(links: list[ChainLink], models: dict) -> dict[tuple[str, int], dict]:
    wanted: dict[str, list[int]] = {}
    for link in links:
        wanted.setdefault(link.source, []).append(link.object_id)
    rows = {}
    for source, ids in wanted.items():
        model = models.get(source)
        if model is None:
            continue
        for values in model._base_manager.filter(pk__in=ids).values("pk", *attnames(model)):
            pk = values.pop("pk")
            rows[(source, pk)] = values
    return rows


def _check_link(link, expected_seq, prev, rows, models) -> ChainProblem | None:
    def problem(what: str) -> ChainProblem:
        return ChainProblem(link.seq, link.source, link.object_id, what)

    if link.seq != expected_seq:
        return ChainProblem(
            expected_seq,
            link.source,
            None,
            f"links {expected_seq} to {link.seq - 1} are missing: deleted from the chain.",
        )
    if link.prev_hash != prev:
        return problem(
            "its previous-link hash does not match the link before it: rows were "
            "reordered, or a row was deleted or inserted before it."
        )
    if link.hash != link.compute_hash():
        return problem("the chain link itself was edited.")
    if link.source not in models:
        return problem("it names a table that is not an audit table.")
    values = rows.get((link.source, link.object_id))
    if values is None:
        return problem("the audit row it chains was deleted.")
    if content_hash(link.source, link.object_id, values) != link.content_hash:
        return problem("the audit row was changed after it was written.")
    return None


def _unchained(models: dict) -> ChainProblem | None:
    """A row in an audit table with no link: inserted behind the application's back."""
    for source, model in sorted(models.items()):
        linked = ChainLink.objects.filter(source=source).values("object_id")
        stray = (
            model._base_manager.exclude(pk__in=linked)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if stray is not None:
            return ChainProblem(
                None, source, stray, "this audit row is not in the chain: inserted out of order."
            )
    return None


def chain_verify() -> ChainReport:
    """Walk the whole chain; return how far it held and the first problem, if any.

    Steps: each link in seq order (no gaps, each pointing at the one before, its own hash
    intact, its audit row present and unchanged); the head matches the last link (nothing cut
    off the end); every audit row has a link (nothing slipped in beside the chain).
    """
    models = chained_models()
    head = ChainHead.objects.filter(pk=HEAD_PK).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    checked, prev, last_seq = 0, GENESIS, 0
    while True:
        links = list(ChainLink.objects.filter(seq__gt=last_seq).order_by("seq")[:PAGE])
        if not links:
            break
        rows = _rows(links, models)
        for link in links:
            found = _check_link(link, checked + 1, prev, rows, models)
            if found:
                return ChainReport(checked, head_seq, head_hash, found)
            checked, prev = checked + 1, link.hash
        last_seq = links[-1].seq
    if (head_seq, head_hash) != (checked, prev):
        return ChainReport(
            checked,
            head_seq,
            head_hash,
            ChainProblem(
                checked + 1,
                "ledger.chainlink",
                None,
                f"the chain ends at link {checked} but its head says {head_seq}: "
                "the newest links were deleted.",
            ),
        )
    return ChainReport(checked, head_seq, head_hash, _unchained(models))
