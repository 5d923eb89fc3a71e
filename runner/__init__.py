"""genlab's runner: manifest schema, plan, executors, worker and result store."""
