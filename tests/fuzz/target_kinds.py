"""What a fuzz target is (who uses a route, what its URL names, whether it takes a POST or
reads a query string) and the small builders the TARGETS table (tests/fuzz/targets.py) is
written with."""

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fuzz.stage import ADMIN, REVIEWER, Stage


@dataclass(frozen=True)
class Target:
    persona: str
    # Creates what the URL names; returns the URL's arguments.
    setup: Callable[[Stage], dict] = lambda stage: {}
    # True: fuzz POST bodies, reading the fields from the form that posts to this URL on the
    # page named by form_on (default: the URL's own page).
    posts: bool = False
    form_on: str | None = None
    # Query-string parameters the page reads, fuzzed on GET.
    query: tuple[str, ...] = ()
    headers: dict = field(default_factory=dict)
    label: str = ""


def case(state, **kwargs) -> Callable[[Stage], dict]:
    return lambda stage: stage.pk(state, **kwargs)


def with_(extra: dict, build: Callable[[Stage], dict]) -> Callable[[Stage], dict]:
    return lambda stage: build(stage) | extra


def listing(build: Callable[[Stage], object]) -> Callable[[Stage], dict]:
    """For a URL that names no record: create the records its page lists."""

    def setup(stage: Stage) -> dict:
        build(stage)
        return {}

    return setup


def accepting(state) -> Callable[[Stage], dict]:
    def build(stage: Stage) -> dict:
        stage.open_cohort()
        return stage.pk(state)

    return build


def transition(action: str, state: str) -> Target:
    return Target(
        REVIEWER,
        with_({"action": action}, case(state)),
        posts=True,
        form_on="reviews:application",
        label=action,
    )


def admin_transition(action: str, state: str) -> Target:
    def build(stage: Stage) -> dict:
        stage.open_cohort()
        return {"object_id": str(stage.case(state).pk), "transition_name": action}

    return Target(ADMIN, build, posts=True, label=action)
