"""The baseline of benchmarks/checkin.py: the least a django-ninja endpoint can cost under gunicorn.

A Django project with no app, no middleware, no database and one ninja operation, `GET /ping`
answering `{"status": "ok"}` with a schema, as the check-in's own ping does. It is served by the same
gunicorn command as the portal (`gunicorn bare_ninja.wsgi:application` with benchmarks/ on the path),
so the difference between the two is what the check-in costs beyond Django and ninja themselves.
"""
