"""Amazon ECS resources as pure data and rules: task-definition validation, defaults, ARNs."""
