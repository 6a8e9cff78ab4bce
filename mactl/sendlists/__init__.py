"""Send-list stage: per-channel send lists with consent, suppression, frequency caps and A/B arms."""
