"""Migrations of app ``models`` (Tortoise native migrations, one set for every dialect).

Apply or roll back with ``otc_framework.storage.database.migrate`` (``otc migrate``).
After changing ``otc_framework.storage.models``, generate the next file and review it::

    # scratch.py: TORTOISE_ORM = tortoise_config("sqlite:///tmp/scratch.sqlite3")
    python -m tortoise -c scratch.TORTOISE_ORM makemigrations models -n <what_changed>

Generated files import the enum classes and ``encode_json`` from the models module, so
renaming one of those means keeping the old name importable.
"""
