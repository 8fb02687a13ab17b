"""The rules: users, projects, members, roles and permissions, robots, audit."""
