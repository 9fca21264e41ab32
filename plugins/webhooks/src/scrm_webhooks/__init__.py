"""scrm-webhooks: events out to external apps, signed with the Standard Webhooks scheme and retried."""
