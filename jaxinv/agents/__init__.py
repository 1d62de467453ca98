"""Learners: PPO, A2C and DQN in Flax/Optax, sharing networks and rollout code."""
