"""Which partner roles may send a catalogue message themselves (`senders:`), checked once at load.

A partner sends a signal (absence, a changed lesson schedule, friction at work) from the partner page
its link opens. The catalogue says who may: `senders: [taalaanbieder, jobcoach]` on the message. A
sender must be a catalogue role other than the person (`inburgeraar`, who never gets a link), and a
message partners send may carry only process data declared in the catalogue: what a partner types on
that page travels through the page, and the page never holds personal or health data.
"""

from __future__ import annotations

from engine.loader import Library, Problem

NEVER_SENDS = "inburgeraar"
"""The person with the duty: Regie never writes to them, so they get no link either."""


def sender_problems(library: Library) -> list[Problem]:
    """Every problem with the catalogue's `senders:` lists, with file and line."""
    catalog = library.catalog
    if catalog is None:
        return []
    file = library.files.get("catalog", "catalog")
    problems = []
    for name, message in catalog.messages.items():
        line = library.line(file, ("messages", name, "senders"))
        for role in message.senders:
            if role not in catalog.roles:
                problems.append(Problem(file, name, f"senders: onbekende rol '{role}' "
                                                    f"(bekend: {', '.join(sorted(catalog.roles))})", line))
            elif role == NEVER_SENDS:
                problems.append(Problem(file, name, f"senders: '{role}' krijgt geen berichten en geen link, en kan "
                                                    "dus niets sturen", line))
        if not message.senders:
            continue
        for field in message.data:
            declared = catalog.data.get(field)
            if declared is None:
                problems.append(Problem(file, name, f"data: '{field}' moet een gegevensveld uit de catalogus zijn, "
                                                    "want partners sturen dit bericht (senders)", line))
            elif not declared.privacy.may_leave_case_store:
                problems.append(Problem(file, name, f"data: '{field}' is {declared.privacy.value}-gegevens; een "
                                                    "bericht van partners mag alleen procesgegevens bevatten", line))
    return problems
