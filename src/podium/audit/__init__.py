"""The audit trail: which calls are recorded (`policy`), the middleware that records API and UI
calls (`middleware`), and the CLI's own records (`cli`). The rows are `podium.store.audit`'s; the
entry a request carries into its unit of work is `podium.store.pending`'s."""
