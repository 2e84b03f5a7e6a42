"""The privacy scan itself, and everything a message can be made of scanned once: every catalogue template,
and the step names and instructions of every user task (task messages carry them).

Every message the peers receive in the other tests is scanned too (see conftest: `smtp`, `hooks`).
"""

from __future__ import annotations

import pytest

from engine.definitions import UserTask
from engine.validator import validate_paths
from integrations.messages import MessageRenderer
from tests.notifications.privacy_scan import PEOPLE, personal_data_in


def test_the_scan_finds_names_bsn_shaped_numbers_and_health_words():
    text = f"Zaak TST-1 van {PEOPLE[0].split()[1]}, BSN 111.222.333, wacht op medische keuring."

    assert personal_data_in(text) == ["Yusuf", "111.222.333", "medische"]
    assert personal_data_in("Zaak TST-2026-0042: taak uiterlijk 2026-03-16, kenmerk 123456789.") == []


def _catalog_template_names() -> list[str]:
    from tests.notifications.conftest import CATALOG

    library, _ = validate_paths([CATALOG])
    return sorted(library.catalog.templates) if library.catalog else []


@pytest.mark.parametrize("name", _catalog_template_names())
def test_no_catalogue_template_puts_personal_or_health_data_in_a_message(catalog, name):
    renderer = MessageRenderer(catalog)
    context = {variable: "2026-03-16" for variable in renderer.variables[name]}

    found = {language: personal_data_in(f"{m.subject}\n{m.body}")
             for language in ("nl", "en")
             for m in [renderer.render(name, context, language, "TST-2026-0001")]}

    assert found == {"nl": [], "en": []}


def _user_tasks() -> list:
    library, problems = validate_paths()
    if problems:
        return [pytest.param(None, id="process_definitions-do-not-load")]
    params = []
    for ref, definition in sorted(library.definitions.items()):
        for element in definition.elements:
            if isinstance(element, UserTask):
                params.append(pytest.param(element, id=f"{ref}/{element.id}"))
    return params


@pytest.mark.parametrize("task", _user_tasks())
def test_no_user_task_name_or_instruction_carries_health_words_into_task_messages(task):
    assert task is not None, "process_definitions/ does not validate; run `regie validate`"

    assert personal_data_in(f"{task.name}\n{task.instructions}") == []
