from django.apps import AppConfig


class DbmoveConfig(AppConfig):
    name = "dbmove"
    verbose_name = "Database move"
