"""Identity stage: normalise contact fields, match records, cluster into people with stable ids and golden records."""
