from typing import Any

from django.core.management.base import BaseCommand

from eduai.ml.services import bundled_models_ensure


class Command(BaseCommand):
    help = "Convert the bundled models for fast loading and register them as production versions."

    def handle(self, *args: Any, **options: Any) -> None:
        for version in bundled_models_ensure():
            self.stdout.write(f"{version}: {version.weights_path}")
