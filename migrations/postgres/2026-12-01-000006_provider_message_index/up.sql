-- A message taken over after a crash is first looked for in the provider's log (Twilio); the
-- provider ids found there are checked against those already recorded, by this index.
CREATE INDEX messages_provider_message_idx ON messages (provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
