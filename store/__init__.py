"""The case store: durable case records, their typed history, the outbox, open tasks, personal data and
the delivery ledger. The only place with SQL; it imports nothing of ours but the engine.

Importing this package connects to nothing; engines are built when asked for (`store.db.make_engine`).
"""
