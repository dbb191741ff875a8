-- A message on the built-in event queue is leased while a server process handles it, so several
-- processes can consume the queue without handing one message to two of them.
ALTER TABLE event_messages ADD COLUMN leased_until INTEGER NOT NULL DEFAULT 0;
