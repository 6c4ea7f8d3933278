"""The task runtime: ECS task semantics on this host (netns, iptables, processes, health)."""
