"""Dates, times and words for people, for the command line and the portal (which reach the engine only
through the service layer): the one set of formats is `engine.people_time`."""

from engine.people_time import (  # noqa: F401 - re-exported
    CLOCK_STATUS,
    DUE_KIND,
    HISTORY_KIND,
    ZONE,
    choice,
    day,
    moment,
    said,
    short_moment,
    status,
)
