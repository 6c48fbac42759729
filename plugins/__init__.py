"""Built-in channel and notifier plugins, registered through the `supportctl.plugins` entry points
exactly like third-party plugins."""
