"""The rule file: the default rule set shipped with the hub, loading and live reloading."""
