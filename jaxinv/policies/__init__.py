"""Hand-made policies as pure functions ``policy(key, obs, state) -> action`` over a batch."""
