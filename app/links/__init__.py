"""Partner links: a partner acts on one step of one case from a signed, expiring, single-use link."""
