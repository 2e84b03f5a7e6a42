"""The partner page: partners act on a step of a case from the link in Regie's message, without an account.

A small FastAPI app (`portal.app.create_app`) over the service layer (`app.links`), served by uvicorn
beside the Prefect UI (`regie up`) or on its own behind a reverse proxy (`regie portal`).
"""
