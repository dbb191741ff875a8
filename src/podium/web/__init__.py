"""What every browser-facing answer and request goes through: security headers on every response,
CSRF and origin checks on the UI's actions, the API docs pages with a policy of their own."""
