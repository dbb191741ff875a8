"""OpenTelemetry traces of executions (the optional `podium[otel]` extra, on when `otel_endpoint`
is set). An execution outlives any one server process, so its spans are not held open: each is
written once, when what it covers has ended and that end has committed, with ids derived from the
execution's and the task's own ids (`ids`). A restart in the middle of a workflow therefore loses
nothing: the process that sees a task or the execution end writes its span, with the same ids
whichever process it is. `spans` turns the engine's ends into span records, `export` sends them.
"""
