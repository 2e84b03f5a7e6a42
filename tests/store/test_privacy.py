"""Names, BSN and health data stay in the case store: never in history, outbox or what is shown."""

from __future__ import annotations

import sqlalchemy as sa

from app.cases import CaseService
from tests.store.conftest import rows, start

REF = "RMD-2026-0001"
PERSONAL = {"naam": "Amira Haddad", "bsn": "123456782", "telefoon": "06-12345678"}


def _everything_that_leaves(engine: sa.Engine, service: CaseService) -> str:
    """All text that can be shown or sent: history, outbox payloads, views and lists."""
    parts = [str(r) for r in rows(engine, "SELECT * FROM case_history")]
    parts += [str(r) for r in rows(engine, "SELECT * FROM outbox")]
    parts += [str(r) for r in rows(engine, "SELECT * FROM open_tasks")]
    parts.append(service.show_case(REF, history=100).model_dump_json())
    parts += [c.model_dump_json() for c in service.list_cases()]
    parts += [t.model_dump_json() for t in service.open_tasks()]
    parts += [item.model_dump_json() for item in service.pending_commands(1000)]
    return "\n".join(parts)


def test_personal_data_is_kept_apart_and_never_shown_or_sent(service: CaseService, engine: sa.Engine):
    # `opmerking` is declared process data: it takes a code, not prose (free text is personal).
    start(service, personal=PERSONAL, data={"naam": "Amira Haddad", "opmerking": "ochtend"})
    service.complete_step(case_ref=REF, task="klantprofiel", data={"scenario": "snelle_start"}, actor="anna")

    leaving = _everything_that_leaves(engine, service)

    assert service.personal_data(REF) == PERSONAL
    for value in PERSONAL.values():
        assert value not in leaving
    shown = service.show_case(REF).data
    assert shown == {"opmerking": "ochtend", "scenario": "snelle_start"}  # `naam` is identifying


def test_a_case_without_personal_data_has_none(service: CaseService):
    start(service)

    assert service.personal_data(REF) == {}
