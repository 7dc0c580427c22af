"""The operator's side: clients, spreads, controls, holidays, trade lifecycle."""
