"""The coordinators' overview: read models of a municipality's cases and their renderings.

Read-only and process data only: case references, steps, roles, phases, dates and counts; never a name,
BSN or a medical outcome. The queries live in `store.overview_reads` (one per kind of fact for a whole
municipality); the history is read through its typed facts (due date, verdict), never its wording.
`today` is always passed in: the Dutch calendar date the caller read from its clock once.

- `norms`: the local norms (profile parameters and documented constants);
- `runs`: what one overview run covers (the clock read once, municipalities, changed cases);
- `caseload`, `radar`, `timeline`, `kpis`: the read models;
- `render`: markdown and tables for the Prefect artifacts, and their keys;
- `words`: numbers and counts as Dutch readers write them.

This file imports nothing: import the module you need.
"""
