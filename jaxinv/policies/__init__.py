"""Hand-made policies as pure functions ``policy(key, obs) -> action`` over a batch."""
