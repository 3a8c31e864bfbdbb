#!/bin/sh
# Re-extract the interface text into locale/zh_Hans/LC_MESSAGES/django.po and recompile django.mo.
#
# Needs GNU gettext (apt-get install gettext) — only here: running and testing the project uses
# the committed django.mo. Translate whatever this lists, then run it again to recompile.
set -eu

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
PO=locale/zh_Hans/LC_MESSAGES/django.po

if ! command -v msgfmt >/dev/null 2>&1; then
    echo "GNU gettext is needed to update translations: apt-get install gettext" >&2
    exit 1
fi

# Settings refuse to load without SECRET_KEY unless DEBUG is on; nothing here serves requests.
export DEBUG="${DEBUG:-true}"
set -- --ignore=.venv --ignore=venv --ignore=tests --ignore=staticfiles --ignore=test-artifacts \
    --ignore=node_modules

"$PYTHON" manage.py makemessages --locale=zh_Hans --no-obsolete "$@"
"$PYTHON" manage.py compilemessages --locale=zh_Hans "$@"

msgfmt --check --statistics --output-file=/dev/null "$PO"
todo=$(msgattrib --untranslated --no-location --no-wrap "$PO"; msgattrib --only-fuzzy --no-location --no-wrap "$PO")
todo=$(printf '%s\n' "$todo" | sed -n 's/^msgid "\(..*\)"$/  \1/p')
if [ -n "$todo" ]; then
    echo "Still to translate in $PO (then run this script again):" >&2
    printf '%s\n' "$todo" >&2
    exit 1
fi
