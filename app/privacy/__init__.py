"""The AVG by design: inzage (export), erasure, retention and the log of who looked (docs/privacy.md).

- `access`: who may read personal data (an operator's name and a reason, checked) and the log of it;
- `person`: the export of everything held about a person, the erasure, and the retention sweep;
- `document`: the export as a readable Dutch document for the person.
"""
