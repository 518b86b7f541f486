"""Strings of Django, allauth and django-celery-beat that their own Simplified Chinese catalogs leave
English (checked by tests/portal/test_language_crawl.py). Listed here so `make messages` keeps them in
portal/locale, which is looked up before the packages' catalogs; never imported."""

from django.utils.translation import gettext_noop

THIRD_PARTY_STRINGS = (
    # allauth.usersessions and allauth.mfa models and admin
    gettext_noop("User Sessions"),
    gettext_noop("MFA"),
    # django.contrib.auth's add form
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
    # django-celery-beat admin (the parts it marks for translation)
    gettext_noop("Execution Options"),
    gettext_noop("Periodic Tasks Using This Schedule"),
    # django-celery-beat's catalog translates "Name" as 任务名 ("task name") and is looked up before the
    # apps' own: the registry credentials' name column and field showed it.
    gettext_noop("Name"),
)
# The admin calendar's weekday initials are in portal/locale/zh_Hans/LC_MESSAGES/djangojs.po.
