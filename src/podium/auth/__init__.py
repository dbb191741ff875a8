"""Who is calling and what they may do: API keys, tokens, roles and the guard that applies them."""
