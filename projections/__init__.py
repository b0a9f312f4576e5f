"""Read models: projections of the event log into tables, their runner, and the queries on them."""
