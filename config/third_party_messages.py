"""Messages of Django, django-import-export and django-simple-history that their own Chinese
catalogs leave in English, translate badly or translate otherwise than this system speaks.

Nothing imports this module. It exists so that `makemessages --no-obsolete` (tools/
update_translations.sh) keeps these msgids in locale/zh_Hans/LC_MESSAGES/django.po, whose
translations win over the libraries' catalogs (LOCALE_PATHS come first). Each msgid must be
exactly the library's, character for character (curly quotes included); when an upgrade changes
one, tests/test_chinese_everywhere.py shows the English again.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

# Django's forms: the label suffix, and the punctuation after which none is added.
gettext_noop(":")
gettext_noop(":?.!")

# Django's admin: the index's table headers for screen readers (app_list.html).
gettext_noop("Model name")
gettext_noop("Add link")
gettext_noop("Change or view list link")
gettext_noop("Error:")
gettext_noop("Forgotten your login credentials?")
# A deleted object named in a message: "制造单位“某某公司”".
gettext_noop("%(class_name)s %(instance)s")
# Multiple selects: the keys as printed on Chinese keyboards.
gettext_noop("Hold down “Control”, or “Command” on a Mac, to select more than one.")

# Full-width colons and Chinese quotation marks where the libraries' catalogs write ": " and '…'.
gettext_noop("Sorting priority: %(priority_number)s")
gettext_noop(
    "Deleting %(class_name)s %(instance)s would require deleting the following protected related "
    "objects: %(related_objects)s"
)
gettext_noop(
    "Deleting the %(object_name)s '%(escaped_object)s' would require deleting the following "
    "protected related objects:"
)
gettext_noop(
    "Deleting the %(object_name)s '%(escaped_object)s' would result in deleting related objects, "
    "but your account doesn't have permission to delete the following types of objects:"
)
gettext_noop(
    "Deleting the selected %(objects_name)s would require deleting the following protected "
    "related objects:"
)
gettext_noop(
    "Deleting the selected %(objects_name)s would result in deleting related objects, but your "
    "account doesn't have permission to delete the following types of objects:"
)
gettext_noop("Set password: %s")
gettext_noop("Change password: %s")
gettext_noop("View history: %s")
gettext_noop("Change history: %s")

# Django's user screens: the groups are this system's roles (accounts/roles.py).
gettext_noop("group")
gettext_noop("groups")
gettext_noop(
    "The groups this user belongs to. A user will get all permissions granted to each of their "
    "groups."
)
gettext_noop("After you’ve created a user, you’ll be able to edit more user options.")
gettext_noop(
    "Whether the user will be able to authenticate using a password or not. If disabled, they "
    "may still be able to authenticate using other backends, such as Single Sign-On or LDAP."
)
gettext_noop("Password-based authentication")
ngettext_lazy(
    "This password is too short. It must contain at least %d character.",
    "This password is too short. It must contain at least %d characters.",
    8,
)

# django-import-export: the export and import pages.
gettext_noop("Select all")
ngettext_lazy("Export %(len)s selected item.", "Export %(len)s selected items.", "len")
gettext_noop("This exporter will export the following fields: ")
gettext_noop("This importer will import the following fields: ")
gettext_noop("Resource")
gettext_noop("Some rows failed to validate")
gettext_noop(
    "Please correct these errors in your data where possible, then reupload it using the form "
    "above."
)
gettext_noop(
    "Below is a preview of data to be imported. If you are satisfied with the results, click "
    "'Confirm import'"
)
gettext_noop("Non field specific")
gettext_noop("%s through import_export")
gettext_noop("Value could not be parsed.")
gettext_noop(
    "No valid data to import. Ensure your file has the correct headers or data for import."
)
gettext_noop(
    "%(exc_name)s encountered while trying to read file. Ensure you have chosen the correct "
    "format for the file."
)
gettext_noop('Select at least 1 field for "%(resource_name)s" to export')
gettext_noop("export failed due to IllegalCharacterError")

# django-simple-history.
gettext_noop("Deleted %(type_name)s")

# django-axes' models (sign-in security): named on the group form's list of permissions.
gettext_noop("access attempt")
gettext_noop("access attempts")
gettext_noop("access attempt expiration")
gettext_noop("access attempt expirations")
gettext_noop("access failure")
gettext_noop("access failures")
gettext_noop("access log")
gettext_noop("access logs")
