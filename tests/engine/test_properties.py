"""Property-based: random event sequences never crash the interpreter, never leave a token without a
place, never schedule a timer before the moment it was created, and a refused event changes nothing."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError
from engine.events import MessageReceived, Started, TaskCompleted
from engine.interpreter import advance, fire_due_timers
from engine.state import CaseState, new_case
from engine.validator import validate_paths
from tests.engine.casefile import ROOT, at
from tests.engine.test_clocks import PIP
from tests.engine.casefile import process as inline_process

LIBRARY, PROBLEMS = validate_paths([ROOT / "process_definitions" / "catalog.yaml",
                                    ROOT / "tests" / "fixtures" / "definitions"])
PROCESSES = [LIBRARY.process("rondleiding@1"), inline_process(PIP)]
MESSAGES = ["huisvesting", "duo_kennisgeving", "brp_inschrijving", "informatie_derde_gevraagd",
            "informatie_derde_ontvangen", "verlenging_toegekend", "uitval_signaal", "koppeling", "plaatsing"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 5), st.sampled_from(
    ["snelle_start", "gecombineerd", "na_verhuizing", "2026-02-01", "2029-06-30", "morgen", ""]))
FIELDS = ["scenario", "gesprek_datum", "intake_afgerond", "pip_dagtekening", "nieuwe_einddatum_termijn",
          "aantal_gesprekken", "onbekend"]

VALID = {"date": ["2026-02-01", "2026-06-30", "2029-06-30"], "bool": [True, False], "int": [0, 2],
         "text": ["ok"]}


def valid_form(process, state: CaseState, task, draw) -> dict:
    """Form data that fits the step, so most random completions get through and move the case on."""
    definition = next(s.definition for s in state.scopes if s.id == task.scope)
    data = {}
    for field in process.elements[definition][task.element].form:
        declared = process.data_fields[field.field]
        choices = declared.values or VALID[declared.type.value]
        data[field.field] = draw(st.sampled_from(choices))
    return data


steps = st.lists(
    st.tuples(
        st.integers(0, 120),  # days to let pass first
        st.sampled_from(["complete", "complete", "message", "wait"]),
        st.integers(0, 5),  # which open task
        st.sampled_from(MESSAGES),
        st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=3),
    ),
    max_size=25,
)


def check_invariants(process, state: CaseState) -> None:
    scopes = {s.id: s for s in state.scopes}
    tokens = {t.id: t for t in state.tokens}
    for token in state.tokens:
        assert token.scope in scopes, f"token {token.id} has no scope"
        assert token.element in process.elements[scopes[token.scope].definition], f"token {token.id} has no place"
    for task in state.tasks:
        assert task.token in tokens and tokens[task.token].element == task.element
    for timer in state.timers:
        assert timer.due_at >= timer.created_at, f"timer {timer.id} scheduled before it was created"
        assert timer.token is None or timer.token in tokens, f"timer {timer.id} lost its token"
        assert timer.clock is None or timer.clock in state.clocks
    if state.status in ("completed", "terminated"):
        assert state.tokens == [] and state.tasks == [] and state.timers == []
    assert CaseState.model_validate_json(state.model_dump_json()) == state


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, len(PROCESSES) - 1), script=steps, draw=st.data())
def test_random_event_sequences_keep_the_case_consistent(which, script, draw):
    assert PROBLEMS == []
    process = PROCESSES[which]
    state = new_case("PROP-1", process.ref)
    now = at("2026-01-05")
    try:
        state = advance(process, state, Started(message="koppeling" if which == 0 else None), now).state
    except EngineError:
        return
    for days, action, pick, message, data in script:
        now += timedelta(days=days)
        state = fire_due_timers(process, state, now).state
        check_invariants(process, state)
        if action == "wait" or state.status != "active":
            continue
        if action == "complete" and state.tasks:
            task = state.tasks[pick % len(state.tasks)]
            fitting = draw.draw(st.booleans(), label="fitting form data")
            form = valid_form(process, state, task, draw.draw) if fitting else data
            event = TaskCompleted(task=task.id, data=form)
        else:
            event = MessageReceived(message=message, data=data)
        before = state.model_dump_json()
        try:
            state = advance(process, state, event, now).state
        except EngineError:
            assert state.model_dump_json() == before, "a refused event must leave the case unchanged"
        check_invariants(process, state)
