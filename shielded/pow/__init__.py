"""Blockhash-bound computational spam proofs, tiers and capacity quotas."""
