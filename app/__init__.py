"""The service layer: one `Settings`, one bootstrap, the case service, sweep and delivery orchestration, and
the coordinators' read models. Everything that changes or shows cases goes through here: the CLI, the
Prefect flows and tasks, the tests and the benchmarks.

Importing this package connects to nothing; the runtime is built when asked for (`app.bootstrap`).
"""
