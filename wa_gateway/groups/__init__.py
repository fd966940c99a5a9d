"""Groups and communities: the /groups routes, their OpenAPI spec and the group.* events (docs/groups.md)."""
