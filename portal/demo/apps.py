from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data and the one-process demo runner (`make demo`)."""

    name = "portal.demo"
    label = "demo"
    verbose_name = "Demo"
