"""Alerts (SPEC §13): raised by the core (``AlertService``), queued durably in the database,
delivered to the sink plugins by one leased loop per deployment (``AlertDispatcher``)."""
